"""Online hard example mining (Shrivastava et al., CVPR 2016, arXiv:1604.03540)."""
from typing import Any, List, Optional

import torch
from torch import Tensor

from mmdet_lite.registry import TASK_UTILS
from ..assigners.assign_result import AssignResult
from ..transforms import bbox2roi
from .base_sampler import BaseSampler


def _stage_of(context: Any) -> Optional[int]:
    """The stage a cascade RoI head (one with ``num_stages``) is building, else None."""
    return context.current_stage if hasattr(context, 'num_stages') else None


def _context_bbox_head(context: Any, stage: Optional[int]) -> Any:
    return context.bbox_head if stage is None else context.bbox_head[stage]


def _context_bbox_forward(context: Any, stage: Optional[int], feats: List[Tensor],
                          rois: Tensor) -> dict:
    """``context._bbox_forward`` of a standard (``(x, rois)``) or cascade
    (``(stage, x, rois)``) RoI head."""
    if stage is None:
        return context._bbox_forward(feats, rois)
    return context._bbox_forward(stage, feats, rois)


@TASK_UTILS.register_module()
class OHEMSampler(BaseSampler):
    """Keep the positives and the negatives with the largest classification loss under the
    current box head (computed without gradient).

    The RoI head that builds the sampler passes itself as ``context``; the sampler calls its
    ``_bbox_forward(x, rois)`` (a cascade head: ``_bbox_forward(stage, x, rois)`` of the stage
    it was building, ``context.current_stage``) and its box head's
    ``loss(..., reduction_override='none')``. ``sample`` must be given the image's ``feats``.

    Args:
        num: number of boxes to sample.
        pos_fraction: fraction of positives among them.
        context: the RoI head (``StandardRoIHead``-like, or a cascade with ``num_stages``,
            ``current_stage`` and a list ``bbox_head``).
        neg_pos_ub: upper bound of negatives per positive; negative means no bound.
        add_gt_as_proposals: add the GT boxes to the candidates.
        loss_key: the key of the box head's loss dict to rank by.
    """

    def __init__(self, num: int, pos_fraction: float, context: Any, neg_pos_ub: int = -1,
                 add_gt_as_proposals: bool = True, loss_key: str = 'loss_cls') -> None:
        super().__init__(num, pos_fraction, neg_pos_ub, add_gt_as_proposals)
        if context is None:
            raise ValueError('OHEMSampler needs the RoI head as context; build it with '
                             'build_sampler(cfg, context=roi_head)')
        self.context = context
        self.stage = _stage_of(context)
        self.bbox_head = _context_bbox_head(context, self.stage)
        self.loss_key = loss_key

    def hard_mining(self, inds: Tensor, num_expected: int, bboxes: Tensor, labels: Tensor,
                    feats: Optional[List[Tensor]]) -> Tensor:
        """The ``num_expected`` of ``inds`` whose boxes (len(inds), 4) with ``labels`` have
        the largest loss."""
        if feats is None:
            raise ValueError('OHEMSampler.sample needs feats=[level features of the image, '
                             'each (1, C, H, W)] to rank the boxes by their loss')
        with torch.no_grad():
            rois = bbox2roi([bboxes])
            bbox_results = _context_bbox_forward(self.context, self.stage, feats, rois)
            cls_score = bbox_results['cls_score']
            loss = self.bbox_head.loss(cls_score=cls_score, bbox_pred=None, rois=rois,
                                       labels=labels,
                                       label_weights=cls_score.new_ones(cls_score.size(0)),
                                       bbox_targets=None, bbox_weights=None,
                                       reduction_override='none')[self.loss_key]
            topk_loss_inds = loss.topk(num_expected)[1]
        return inds[topk_loss_inds]

    def _sample_pos(self, assign_result: AssignResult, num_expected: int,
                    bboxes: Optional[Tensor] = None,
                    feats: Optional[List[Tensor]] = None) -> Tensor:
        pos_inds = torch.nonzero(assign_result.gt_inds > 0, as_tuple=False).view(-1)
        if pos_inds.numel() <= num_expected:
            return pos_inds
        return self.hard_mining(pos_inds, num_expected, bboxes[pos_inds],
                                assign_result.labels[pos_inds], feats)

    def _sample_neg(self, assign_result: AssignResult, num_expected: int,
                    bboxes: Optional[Tensor] = None,
                    feats: Optional[List[Tensor]] = None) -> Tensor:
        neg_inds = torch.nonzero(assign_result.gt_inds == 0, as_tuple=False).view(-1)
        if len(neg_inds) <= num_expected:
            return neg_inds
        neg_labels = assign_result.gt_inds.new_full((neg_inds.size(0), ),
                                                    self.bbox_head.num_classes)
        return self.hard_mining(neg_inds, num_expected, bboxes[neg_inds], neg_labels, feats)
