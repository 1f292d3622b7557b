"""Best and worst images of a test run by per-image mAP, drawn with their ground truth (2.x
``tools/analysis_tools/analyze_results.py``).

An image's score is its box mAP averaged over IoU thresholds 0.50:0.05:0.95 (``eval_map`` on
that image alone, area-under-PR-curve AP, classes without ground truth left out as in
``eval_map``). Panoptic results are not supported (mmdet_lite has no panoptic detector).
"""
import os
import os.path as osp
from typing import Any, List, Optional, Sequence, Tuple

import numpy as np
from mmengine.utils import ProgressBar

from ..core.evaluation import eval_map
from ..core.visualization.image import imshow_gt_det_bboxes
from ..datasets.pipeline_utils import get_loading_pipeline
from ..datasets.pipelines import Compose

__all__ = ['bbox_map_eval', 'get_loading_pipeline', 'ResultVisualizer']

IOU_THRS = np.linspace(.5, 0.95, int(np.round((0.95 - .5) / .05)) + 1, endpoint=True)


def bbox_map_eval(det_result: Any, annotation: dict) -> float:
    """Of one image: box mAP over IoU 0.50:0.95 of ``det_result`` (``bbox_results``, or the
    ``(bbox_results, segm_results)`` pair) against ``annotation`` (``get_ann_info``)."""
    bbox_result = det_result[0] if isinstance(det_result, tuple) else det_result
    aps = [eval_map([bbox_result], [annotation], iou_thr=float(thr), logger='silent',
                    nproc=1)[0] for thr in IOU_THRS]
    return float(sum(aps) / len(aps))


class ResultVisualizer:
    """Rank a test run's images by mAP and draw the best and worst (2.x's class).

    Args:
        show: Also open a window per image.
        wait_time: Seconds a window stays (0: until a key).
        score_thr: Detections below are not drawn.
        overlay_gt_pred: Draw ground truth and detections on one image; else ground truth
            above, detections below.
    """

    def __init__(self, show: bool = False, wait_time: float = 0, score_thr: float = 0,
                 overlay_gt_pred: bool = False):
        self.show = show
        self.wait_time = wait_time
        self.score_thr = score_thr
        self.overlay_gt_pred = overlay_gt_pred

    def detection_evaluate(self, dataset: Any, results: list, topk: int = 20
                           ) -> Tuple[List[Tuple[int, float]], List[Tuple[int, float]]]:
        """``(good, bad)``: the ``topk`` highest and lowest ``(index, mAP)``, both ascending."""
        if len(results) != len(dataset):
            raise ValueError(f'{len(results)} results for a dataset of {len(dataset)} images; '
                             'were they made on this config\'s test set?')
        progress = ProgressBar(len(results))
        maps = []
        for i, result in enumerate(results):
            maps.append((i, bbox_map_eval(result, dataset.get_ann_info(i))))
            progress.update()
        maps.sort(key=lambda item: item[1])
        return maps[-topk:], maps[:topk]

    def _save_image_gts_results(self, dataset: Any, loading: Compose, results: list,
                                performances: List[Tuple[int, float]], out_dir: str
                                ) -> List[str]:
        os.makedirs(out_dir, exist_ok=True)
        palette = getattr(dataset, 'PALETTE', None)
        written = []
        for index, performance in performances:
            data = dict(img_info=dataset.data_infos[index], ann_info=dataset.get_ann_info(index))
            dataset.pre_pipeline(data)
            data = loading(data)
            stem, ext = osp.splitext(osp.basename(data['filename']))
            out_file = osp.join(out_dir, f'{stem}_{round(performance, 3)}{ext}')
            imshow_gt_det_bboxes(data['img'], data, results[index], dataset.CLASSES,
                                 score_thr=self.score_thr, gt_bbox_color=palette,
                                 gt_text_color=(200, 200, 200), gt_mask_color=palette,
                                 det_bbox_color=palette, det_text_color=(200, 200, 200),
                                 det_mask_color=palette, show=self.show,
                                 wait_time=int(self.wait_time), out_file=out_file,
                                 overlay_gt_pred=self.overlay_gt_pred)
            written.append(out_file)
        return written

    def evaluate_and_show(self, dataset: Any, results: list, topk: int = 20,
                          show_dir: str = 'work_dir',
                          loading_pipeline: Optional[Sequence[dict]] = None
                          ) -> Tuple[List[Tuple[int, float]], List[Tuple[int, float]]]:
        """Rank, then draw the ``topk`` best into ``show_dir/good`` and worst into
        ``show_dir/bad`` (``<image name>_<mAP><ext>``); returns ``(good, bad)``.

        ``topk`` is capped at half the dataset. ``loading_pipeline`` loads an image and its
        annotations (default: the image and its boxes/masks).
        """
        if topk <= 0:
            raise ValueError(f'topk must be positive, got {topk}')
        topk = min(topk, max(len(dataset) // 2, 1))
        if results and not isinstance(results[0], (list, tuple)):
            raise TypeError(f'results hold {type(results[0]).__name__}s: only detection results '
                            '(a list per class, or a (bbox, segm) tuple) are supported')
        good, bad = self.detection_evaluate(dataset, results, topk)
        loading = Compose(loading_pipeline or [dict(type='LoadImageFromFile'),
                                               dict(type='LoadAnnotations', with_bbox=True)])
        self._save_image_gts_results(dataset, loading, results, good,
                                     osp.abspath(osp.join(show_dir, 'good')))
        self._save_image_gts_results(dataset, loading, results, bad,
                                     osp.abspath(osp.join(show_dir, 'bad')))
        return good, bad
