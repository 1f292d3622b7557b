"""Pascal VOC 2007 / 2012 (2.x ``VOCDataset``); mAP with the VOC devkit's conventions."""
from collections import OrderedDict
from typing import List, Optional, Sequence, Tuple, Union

from ..core.evaluation.class_names import voc_classes
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
        ds_name = 'voc07' if self.year == 2007 else self.CLASSES
        mode = eval_mode or ('11points' if self.year == 2007 else 'area')
        eval_results = self._evaluate_map_or_recall(
            results, metric, logger, proposal_nums, iou_thr, scale_ranges, map_dataset=ds_name,
            eval_mode=mode, use_legacy_coordinate=True)
        if 'mAP' in eval_results:
            eval_results.move_to_end('mAP', last=False)
        return eval_results
