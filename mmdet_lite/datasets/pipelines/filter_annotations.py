"""Drop ground-truth instances that are too small (mmdetection 2.x ``FilterAnnotations``)."""
from typing import Optional, Tuple

import numpy as np

from ...registry import TRANSFORMS


@TRANSFORMS.register_module()
class FilterAnnotations:
    """Keep the instances whose box is larger than ``min_gt_bbox_wh`` and/or whose mask has at
    least ``min_gt_mask_area`` pixels; ``gt_bboxes``, ``gt_labels`` and ``gt_masks`` are indexed
    alike. An image without ground truth passes unchanged.

    Args:
        min_gt_bbox_wh: minimum (width, height); a box must exceed both.
        min_gt_mask_area: minimum mask area in pixels.
        by_box: filter by box size.
        by_mask: filter by mask area.
        keep_empty: 2.x's name, whose meaning is the reverse of what it says: when True (the
            default) a sample whose instances were all removed is dropped (returns ``None``, the
            dataset draws another image); when False it is kept with empty ground truth.
    """

    def __init__(self, min_gt_bbox_wh: Tuple[float, float] = (1., 1.), min_gt_mask_area: int = 1,
                 by_box: bool = True, by_mask: bool = False, keep_empty: bool = True):
        if not (by_box or by_mask):
            raise ValueError('FilterAnnotations needs by_box=True or by_mask=True')
        self.min_gt_bbox_wh = min_gt_bbox_wh
        self.min_gt_mask_area = min_gt_mask_area
        self.by_box = by_box
        self.by_mask = by_mask
        self.keep_empty = keep_empty

    def __call__(self, results: dict) -> Optional[dict]:
        for flag, key in ((self.by_box, 'gt_bboxes'), (self.by_mask, 'gt_masks')):
            if flag and key not in results:
                raise KeyError(f'FilterAnnotations(by_{key[3:-1]}=True) needs {key!r} in the '
                               'results; load it with LoadAnnotations first')
        num = len(results['gt_bboxes']) if self.by_box else len(results['gt_masks'])
        if num == 0:
            return results
        keep = np.ones(num, dtype=bool)
        if self.by_box:
            boxes = results['gt_bboxes']
            keep &= ((boxes[:, 2] - boxes[:, 0]) > self.min_gt_bbox_wh[0]) & \
                ((boxes[:, 3] - boxes[:, 1]) > self.min_gt_bbox_wh[1])
        if self.by_mask:
            keep &= results['gt_masks'].areas >= self.min_gt_mask_area
        inds = np.nonzero(keep)[0]
        for key in ('gt_bboxes', 'gt_labels', 'gt_masks'):
            if key in results:
                results[key] = results[key][inds]
        if len(inds) == 0 and self.keep_empty:
            return None
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(min_gt_bbox_wh={self.min_gt_bbox_wh}, '
                f'min_gt_mask_area={self.min_gt_mask_area}, by_box={self.by_box}, '
                f'by_mask={self.by_mask}, keep_empty={self.keep_empty})')
