"""Score-based hierarchical local rank (HLR) sampling of negatives, from PISA (Cao et al.,
CVPR 2020, arXiv:1904.04821)."""
from typing import Any, List, Optional, Tuple

import torch
from torch import Tensor

from mmdet_lite.registry import TASK_UTILS
from ...post_processing.nms_match import nms_match
from ..assigners.assign_result import AssignResult
from ..transforms import bbox2roi
from .base_sampler import BaseSampler
from .ohem_sampler import _context_bbox_forward, _stage_of
from .sampling_result import SamplingResult


@TASK_UTILS.register_module()
class ScoreHLRSampler(BaseSampler):
    """Sample the most important negatives and weight them by importance.

    Negatives scoring above ``score_thr`` for some class are decoded with that class's box,
    grouped by NMS (``nms_match`` at ``iou_thr``) and ranked: first by rank inside their
    group, then by score (the hierarchical local rank); the top ones are sampled, the rest of
    the quota is filled at random from the low-scoring negatives. Each sampled negative gets
    the label weight ``(bias + (1 - bias) * (U - rank) / U)^k`` (``U = max(quota, number of
    candidates)``), rescaled so that their summed classification loss is unchanged.
    Positives are sampled uniformly.

    ``sample`` returns ``(SamplingResult, neg_label_weights)``; ``neg_label_weights`` (Q,)
    follows the order of ``neg_inds`` (None without negatives).

    Args:
        num: number of boxes to sample.
        pos_fraction: fraction of positives among them.
        context: the RoI head (its ``_bbox_forward`` and ``bbox_head`` score the negatives).
        neg_pos_ub: upper bound of negatives per positive; negative means no bound.
        add_gt_as_proposals: add the GT boxes to the candidates.
        k: exponent of the importance weights.
        bias: lower bound of the importance weights before the exponent.
        score_thr: minimum class score of a negative to be ranked.
        iou_thr: IoU that groups ranked negatives.
    """

    def __init__(self, num: int, pos_fraction: float, context: Any, neg_pos_ub: int = -1,
                 add_gt_as_proposals: bool = True, k: float = 0.5, bias: float = 0,
                 score_thr: float = 0.05, iou_thr: float = 0.5) -> None:
        super().__init__(num, pos_fraction, neg_pos_ub, add_gt_as_proposals)
        if context is None:
            raise ValueError('ScoreHLRSampler needs the RoI head as context; build it with '
                             'build_sampler(cfg, context=roi_head)')
        self.k = k
        self.bias = bias
        self.score_thr = score_thr
        self.iou_thr = iou_thr
        self.context = context
        self.stage = _stage_of(context)
        if self.stage is None:
            self.bbox_roi_extractor = context.bbox_roi_extractor
            self.bbox_head = context.bbox_head
            self.with_shared_head = context.with_shared_head
            if self.with_shared_head:
                self.shared_head = context.shared_head
        else:
            self.bbox_roi_extractor = context.bbox_roi_extractor[self.stage]
            self.bbox_head = context.bbox_head[self.stage]

    @staticmethod
    def random_choice(gallery: Tensor, num: int) -> Tensor:
        """``num`` distinct elements of ``gallery`` chosen at random."""
        if len(gallery) < num:
            raise ValueError(f'ScoreHLRSampler.random_choice: cannot pick {num} of '
                             f'{len(gallery)} elements')
        perm = torch.randperm(gallery.numel(), device=gallery.device)[:num]
        return gallery[perm]

    def _sample_pos(self, assign_result: AssignResult, num_expected: int,
                    bboxes: Optional[Tensor] = None,
                    feats: Optional[List[Tensor]] = None) -> Tensor:
        pos_inds = torch.nonzero(assign_result.gt_inds > 0, as_tuple=False).view(-1)
        if pos_inds.numel() <= num_expected:
            return pos_inds
        return self.random_choice(pos_inds, num_expected)

    def _sample_neg(self, assign_result: AssignResult, num_expected: int, bboxes: Tensor,
                    feats: Optional[List[Tensor]] = None
                    ) -> Tuple[Tensor, Optional[Tensor]]:
        """Sampled negative indices (Q,) and their label weights (Q,) (None if there are no
        negatives)."""
        neg_inds = torch.nonzero(assign_result.gt_inds == 0, as_tuple=False).view(-1)
        num_neg = neg_inds.size(0)
        if num_neg == 0:
            return neg_inds, None
        if feats is None:
            raise ValueError('ScoreHLRSampler.sample needs feats=[level features of the image, '
                             'each (1, C, H, W)] to score the negatives')
        num_expected = min(num_neg, num_expected)
        with torch.no_grad():
            neg_rois = bbox2roi([bboxes[neg_inds]])
            bbox_result = _context_bbox_forward(self.context, self.stage, feats, neg_rois)
            cls_score, bbox_pred = bbox_result['cls_score'], bbox_result['bbox_pred']
            if num_expected == 0:
                return neg_inds[:0], cls_score.new_zeros(0)
            ori_loss = self.bbox_head.loss(
                cls_score=cls_score, bbox_pred=None, rois=None,
                labels=neg_inds.new_full((num_neg, ), self.bbox_head.num_classes),
                label_weights=cls_score.new_ones(num_neg), bbox_targets=None,
                bbox_weights=None, reduction_override='none')['loss_cls']

            max_score, argmax_score = cls_score.softmax(-1)[:, :-1].max(-1)
            valid_inds = torch.nonzero(max_score > self.score_thr, as_tuple=False).view(-1)
            invalid_inds = torch.nonzero(max_score <= self.score_thr, as_tuple=False).view(-1)
            num_valid = valid_inds.size(0)
            num_invalid = invalid_inds.size(0)
            num_hlr = min(num_valid, num_expected)
            num_rand = num_expected - num_hlr
            if num_valid == 0:
                select_inds = torch.randperm(num_neg, device=neg_inds.device)[:num_expected]
                return neg_inds[select_inds], cls_score.new_ones(num_expected)

            valid_rois = neg_rois[valid_inds]
            valid_max_score = max_score[valid_inds]
            valid_argmax_score = argmax_score[valid_inds]
            valid_bbox_pred = bbox_pred[valid_inds].view(num_valid, -1, 4)
            if valid_bbox_pred.size(1) == 1:  # class-agnostic regression
                selected_bbox_pred = valid_bbox_pred[:, 0]
            else:
                selected_bbox_pred = valid_bbox_pred[torch.arange(num_valid),
                                                     valid_argmax_score]
            pred_bboxes = self.bbox_head.bbox_coder.decode(valid_rois[:, 1:],
                                                           selected_bbox_pred)
            pred_bboxes_with_score = torch.cat([pred_bboxes, valid_max_score[:, None]], -1)
            groups = nms_match(pred_bboxes_with_score, self.iou_thr)
            # importance: rank inside the NMS group first, the score breaks ties
            imp = cls_score.new_zeros(num_valid)
            for group in groups:
                g_score = valid_max_score[group]
                rank = torch.arange(g_score.size(0), dtype=g_score.dtype,
                                    device=g_score.device)
                imp[group] = num_valid - rank + g_score
            imp_rank_inds = imp.sort(descending=True)[1]
            imp_rank = imp_rank_inds.sort()[1]
            hlr_inds = imp_rank_inds[:num_expected]
            if num_rand > 0:
                rand_inds = torch.randperm(num_invalid, device=invalid_inds.device)[:num_rand]
                select_inds = torch.cat([valid_inds[hlr_inds], invalid_inds[rand_inds]])
            else:
                select_inds = valid_inds[hlr_inds]

            neg_label_weights = cls_score.new_ones(num_expected)
            up_bound = max(num_expected, num_valid)
            imp_weights = (up_bound - imp_rank[hlr_inds].float()) / up_bound
            neg_label_weights[:num_hlr] = imp_weights
            neg_label_weights[num_hlr:] = imp_weights.min()
            neg_label_weights = (self.bias + (1 - self.bias) * neg_label_weights).pow(self.k)
            # keep the summed classification loss of the sampled negatives unchanged
            ori_selected_loss = ori_loss[select_inds]
            new_loss = ori_selected_loss * neg_label_weights
            neg_label_weights = neg_label_weights * (ori_selected_loss.sum() / new_loss.sum())
        return neg_inds[select_inds], neg_label_weights

    def sample(self, assign_result: AssignResult, bboxes: Tensor, gt_bboxes: Tensor,
               gt_labels: Optional[Tensor] = None, feats: Optional[List[Tensor]] = None,
               img_meta: Optional[dict] = None) -> Tuple[SamplingResult, Optional[Tensor]]:
        """Of one image: sample positives and negatives.

        Args:
            assign_result: assignment of ``bboxes`` (modified in place when GTs are added).
            bboxes: (n, 4) proposals (extra columns dropped).
            gt_bboxes: (k, 4) ground truths.
            gt_labels: (k,) their labels; required when ``add_gt_as_proposals``.
            feats: per level the (1, C, H, W) features of the image.
            img_meta: unused (2.x passes it).

        Returns:
            The SamplingResult and the (Q,) label weights of its negatives (or None).
        """
        bboxes = bboxes[:, :4]
        gt_flags = bboxes.new_zeros((bboxes.shape[0], ), dtype=torch.uint8)
        if self.add_gt_as_proposals and len(gt_bboxes) > 0:
            if gt_labels is None:
                raise ValueError('ScoreHLRSampler.sample: gt_labels must be given when '
                                 'add_gt_as_proposals=True')
            bboxes = torch.cat([gt_bboxes[:, :4].to(bboxes.dtype), bboxes], dim=0)
            assign_result.add_gt_(gt_labels)
            gt_ones = bboxes.new_ones(gt_bboxes.shape[0], dtype=torch.uint8)
            gt_flags = torch.cat([gt_ones, gt_flags])

        num_expected_pos = int(self.num * self.pos_fraction)
        pos_inds = self.pos_sampler._sample_pos(assign_result, num_expected_pos, bboxes=bboxes)
        num_sampled_pos = pos_inds.numel()
        num_expected_neg = self.num - num_sampled_pos
        if self.neg_pos_ub >= 0:
            neg_upper_bound = int(self.neg_pos_ub * max(1, num_sampled_pos))
            num_expected_neg = min(num_expected_neg, neg_upper_bound)
        neg_inds, neg_label_weights = self.neg_sampler._sample_neg(
            assign_result, num_expected_neg, bboxes, feats=feats)
        return (SamplingResult(pos_inds, neg_inds, bboxes, gt_bboxes, assign_result, gt_flags),
                neg_label_weights)
