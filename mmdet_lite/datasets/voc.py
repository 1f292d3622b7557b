"""Pascal VOC 2007 / 2012 (2.x ``VOCDataset``); mAP with the VOC devkit's conventions."""
from collections import OrderedDict
from typing import List, Optional, Sequence, Tuple, Union

from mmengine.logging import print_log

from ..evaluation.class_names import voc_classes
from ..evaluation.mean_ap import eval_map
from ..evaluation.recall import eval_recalls
from ..registry import DATASETS
from .xml_style import XMLDataset


@DATASETS.register_module()
class VOCDataset(XMLDataset):
    """The year is read from ``img_prefix`` ('VOC2007' or 'VOC2012' in the path).

    VOC2007 evaluates with 11-point AP, VOC2012 with area AP (both with the +1 pixel
    convention), as 2.x does.
    """

    CLASSES = tuple(voc_classes())

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        prefix = self.img_prefix or ''
        if 'VOC2007' in prefix:
            self.year = 2007
        elif 'VOC2012' in prefix:
            self.year = 2012
        else:
            raise ValueError(f'cannot infer the VOC year from img_prefix {prefix!r}; it must '
                             f'contain VOC2007 or VOC2012 (e.g. data/VOCdevkit/VOC2007/)')

    def evaluate(self, results: list, metric: Union[str, List[str]] = 'mAP', logger=None,
                 proposal_nums: Sequence[int] = (100, 300, 1000),
                 iou_thr: Union[float, List[float]] = 0.5,
                 scale_ranges: Optional[List[Tuple[float, float]]] = None,
                 eval_mode: Optional[str] = None) -> OrderedDict:
        """``mAP`` (``AP50`` ... per IoU threshold) or proposal ``recall``.

        ``eval_mode`` ('area' | '11points') overrides the year's default.
        """
        if not isinstance(metric, str):
            if len(metric) != 1:
                raise ValueError(f'VOCDataset.evaluate takes one metric, got {metric}')
            metric = metric[0]
        if metric not in ('mAP', 'recall'):
            raise KeyError(f"metric {metric!r} is not supported; use 'mAP' or 'recall'")
        if len(results) != len(self):
            raise ValueError(f'{len(results)} results for {len(self)} images')
        annotations = [self.get_ann_info(i) for i in range(len(self))]
        iou_thrs = [iou_thr] if isinstance(iou_thr, float) else list(iou_thr)
        eval_results = OrderedDict()
        if metric == 'mAP':
            ds_name = 'voc07' if self.year == 2007 else self.CLASSES
            mode = eval_mode or ('11points' if self.year == 2007 else 'area')
            mean_aps = []
            for thr in iou_thrs:
                print_log(f'\n{"-" * 15}iou_thr: {thr}{"-" * 15}', logger=logger)
                mean_ap, _ = eval_map(results, annotations, scale_ranges=scale_ranges,
                                      iou_thr=thr, dataset=ds_name, logger=logger,
                                      use_legacy_coordinate=True, eval_mode=mode)
                mean_aps.append(mean_ap)
                eval_results[f'AP{int(thr * 100):02d}'] = round(float(mean_ap), 3)
            eval_results['mAP'] = float(sum(mean_aps) / len(mean_aps))
            eval_results.move_to_end('mAP', last=False)
        else:
            gt_bboxes = [ann['bboxes'] for ann in annotations]
            recalls = eval_recalls(gt_bboxes, results, proposal_nums, iou_thrs, logger=logger,
                                   use_legacy_coordinate=True)
            for i, num in enumerate(proposal_nums):
                for j, thr in enumerate(iou_thrs):
                    eval_results[f'recall@{num}@{thr}'] = float(recalls[i, j])
            if recalls.shape[1] > 1:
                for i, num in enumerate(proposal_nums):
                    eval_results[f'AR@{num}'] = float(recalls[i].mean())
        return eval_results
