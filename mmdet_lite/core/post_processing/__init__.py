from .bbox_nms import multiclass_nms
from .merge_augs import merge_aug_bboxes, merge_aug_masks, merge_aug_proposals, merge_aug_scores
from .nms import batched_nms, nms
from .nms_match import nms_match
from .soft_nms import batched_soft_nms, soft_nms

__all__ = [
    'multiclass_nms', 'merge_aug_bboxes', 'merge_aug_masks', 'merge_aug_proposals',
    'merge_aug_scores', 'batched_nms', 'nms', 'nms_match', 'soft_nms', 'batched_soft_nms'
]
