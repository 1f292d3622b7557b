from .bbox_nms import multiclass_nms
from .merge_augs import merge_aug_bboxes, merge_aug_masks, merge_aug_proposals, merge_aug_scores
from .nms import batched_nms, nms

__all__ = [
    'multiclass_nms', 'merge_aug_bboxes', 'merge_aug_masks', 'merge_aug_proposals',
    'merge_aug_scores', 'batched_nms', 'nms'
]
