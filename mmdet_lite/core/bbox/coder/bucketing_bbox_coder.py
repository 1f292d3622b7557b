"""Bucketing box coder of SABL (side-aware boundary localisation).

Each side of a (rescaled) proposal is split into ``ceil(num_buckets / 2)`` buckets counted from
that side inwards; a box side is coded as the bucket it falls nearest to (classification) plus
its offset from that bucket's centre in bucket widths (regression).
"""
import math
from typing import Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from mmdet_lite.registry import TASK_UTILS
from ..transforms import bbox_rescale
from .base_bbox_coder import BaseBBoxCoder


@TASK_UTILS.register_module()
class BucketingBBoxCoder(BaseBBoxCoder):
    """SABL's bucketing coder.

    Args:
        num_buckets: number of buckets across the rescaled proposal (per axis).
        scale_factor: proposals are scaled about their centre by this before bucketing.
        offset_topk: the nearest ``offset_topk`` buckets of a side get regression targets.
        offset_upperbound: those beyond the nearest one only when their offset is below this.
        cls_ignore_neighbor: give zero classification weight to buckets other than the nearest
            that lie within one bucket width of the side (otherwise all buckets weigh 1).
        clip_border: clip decoded boxes to ``max_shape`` when it is given.
    """

    def __init__(self, num_buckets: int, scale_factor: float, offset_topk: int = 2,
                 offset_upperbound: float = 1.0, cls_ignore_neighbor: bool = True,
                 clip_border: bool = True) -> None:
        self.num_buckets = num_buckets
        self.scale_factor = scale_factor
        self.offset_topk = offset_topk
        self.offset_upperbound = offset_upperbound
        self.cls_ignore_neighbor = cls_ignore_neighbor
        self.clip_border = clip_border

    def encode(self, bboxes: Tensor, gt_bboxes: Tensor) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
        """(n, 4) proposals and targets -> (offsets, offset_weights, bucket_labels,
        bucket_cls_weights), each (n, 4 * side_num); see :func:`bbox2bucket`."""
        if bboxes.size(0) != gt_bboxes.size(0) or bboxes.size(-1) != 4 or gt_bboxes.size(-1) != 4:
            raise ValueError(f'BucketingBBoxCoder.encode needs (n, 4) proposals and targets, got '
                             f'{tuple(bboxes.shape)} and {tuple(gt_bboxes.shape)}')
        return bbox2bucket(bboxes, gt_bboxes, self.num_buckets, self.scale_factor,
                           self.offset_topk, self.offset_upperbound, self.cls_ignore_neighbor)

    def decode(self, bboxes: Tensor, pred_bboxes: Sequence[Tensor],
               max_shape: Optional[Sequence[int]] = None) -> Tuple[Tensor, Tensor]:
        """(n, 4) proposals and the (cls_preds, offset_preds) pair, each (n, 4 * side_num) ->
        ((n, 4) boxes, (n,) localisation confidence); see :func:`bucket2bbox`."""
        if len(pred_bboxes) != 2:
            raise ValueError('BucketingBBoxCoder.decode needs pred_bboxes = (cls_preds, '
                             f'offset_preds), got {len(pred_bboxes)} tensors')
        cls_preds, offset_preds = pred_bboxes
        if cls_preds.size(0) != bboxes.size(0) or offset_preds.size(0) != bboxes.size(0):
            raise ValueError(f'BucketingBBoxCoder.decode: {bboxes.size(0)} proposals but '
                             f'{cls_preds.size(0)} cls and {offset_preds.size(0)} offset '
                             'predictions')
        return bucket2bbox(bboxes, cls_preds, offset_preds, self.num_buckets, self.scale_factor,
                           max_shape, self.clip_border)


def _side_num(num_buckets: int) -> int:
    return int(math.ceil(num_buckets / 2.0))


def generate_buckets(proposals: Tensor, num_buckets: int, scale_factor: float = 1.0
                     ) -> Tuple[Tensor, Tensor, Tensor, Tensor, Tensor, Tensor]:
    """Bucket centres of (n, 4) proposals scaled by ``scale_factor``.

    Returns:
        bucket_w, bucket_h: (n,) bucket sizes (side length / num_buckets);
        l_buckets, r_buckets, t_buckets, d_buckets: (n, side_num) bucket centres counted from
        the left / right / top / bottom side inwards.
    """
    proposals = bbox_rescale(proposals, scale_factor)
    side_num = _side_num(num_buckets)
    px1, py1, px2, py2 = proposals.unbind(-1)
    bucket_w = (px2 - px1) / num_buckets
    bucket_h = (py2 - py1) / num_buckets
    steps = 0.5 + torch.arange(0, side_num).to(proposals).float()
    l_buckets = px1[:, None] + steps[None, :] * bucket_w[:, None]
    r_buckets = px2[:, None] - steps[None, :] * bucket_w[:, None]
    t_buckets = py1[:, None] + steps[None, :] * bucket_h[:, None]
    d_buckets = py2[:, None] - steps[None, :] * bucket_h[:, None]
    return bucket_w, bucket_h, l_buckets, r_buckets, t_buckets, d_buckets


def bbox2bucket(proposals: Tensor, gt: Tensor, num_buckets: int, scale_factor: float,
                offset_topk: int = 2, offset_upperbound: float = 1.0,
                cls_ignore_neighbor: bool = True) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
    """Bucketing targets of (n, 4) proposals for (n, 4) targets.

    Returns:
        offsets: (n, 4 * side_num) offset of each side from each bucket centre, in bucket
            widths, sides ordered l, r, t, d;
        offset_weights: (n, 4 * side_num) 1 for the nearest bucket of each side, and for the
            next ``offset_topk - 1`` nearest ones whose offset is below ``offset_upperbound``;
        bucket_labels: (n, 4 * side_num) one-hot nearest bucket of each side;
        bucket_cls_weights: (n, 4 * side_num) classification weights (see
            ``cls_ignore_neighbor`` of :class:`BucketingBBoxCoder`).
    """
    if proposals.size() != gt.size():
        raise ValueError(f'bbox2bucket: proposals {tuple(proposals.shape)} and targets '
                         f'{tuple(gt.shape)} differ in shape')
    proposals = proposals.float()
    gt = gt.float()
    bucket_w, bucket_h, l_buckets, r_buckets, t_buckets, d_buckets = generate_buckets(
        proposals, num_buckets, scale_factor)
    gx1, gy1, gx2, gy2 = gt.unbind(-1)
    side_offsets = [
        (l_buckets - gx1[:, None]) / bucket_w[:, None],
        (r_buckets - gx2[:, None]) / bucket_w[:, None],
        (t_buckets - gy1[:, None]) / bucket_h[:, None],
        (d_buckets - gy2[:, None]) / bucket_h[:, None],
    ]
    inds = torch.arange(0, proposals.size(0), device=proposals.device)
    side_weights, nearest = [], []
    for offsets in side_offsets:
        topk_dist, topk_label = offsets.abs().topk(offset_topk, dim=1, largest=False,
                                                   sorted=True)
        weights = offsets.new_zeros(offsets.size())
        weights[inds, topk_label[:, 0]] = 1.0
        for k in range(1, offset_topk):
            weights[inds, topk_label[:, k]] = (topk_dist[:, k] < offset_upperbound).float()
        side_weights.append(weights)
        nearest.append(topk_label[:, 0])
    offsets = torch.cat(side_offsets, dim=-1)
    offset_weights = torch.cat(side_weights, dim=-1)

    labels = torch.stack(nearest, dim=-1)  # (n, 4)
    bucket_labels = F.one_hot(labels.view(-1), _side_num(num_buckets)).view(
        labels.size(0), -1).float()
    if cls_ignore_neighbor:
        near_side = torch.cat([o.abs() < 1 for o in side_offsets], dim=-1)
        bucket_cls_weights = (~(near_side & (bucket_labels == 0))).float()
    else:
        bucket_cls_weights = torch.ones_like(offsets)
    return offsets, offset_weights, bucket_labels, bucket_cls_weights


def bucket2bbox(proposals: Tensor, cls_preds: Tensor, offset_preds: Tensor, num_buckets: int,
                scale_factor: float = 1.0, max_shape: Optional[Sequence[int]] = None,
                clip_border: bool = True) -> Tuple[Tensor, Tensor]:
    """Boxes from bucket scores and offsets.

    Args:
        proposals: (n, 4) proposals.
        cls_preds: (n, 4 * side_num) bucket logits, sides ordered l, r, t, d.
        offset_preds: (n, 4 * side_num) offsets in bucket widths.
        num_buckets: number of buckets across a proposal.
        scale_factor: proposals are scaled about their centre by this first.
        max_shape: (h, w[, c]); boxes are clipped to [0, w - 1] x [0, h - 1] (SABL's convention)
            when ``clip_border``.
        clip_border: clip to ``max_shape`` when it is given.

    Returns:
        (n, 4) boxes and (n,) localisation confidence: per side the softmax score of the best
        bucket, plus the second best's when the two are adjacent, averaged over the 4 sides.
    """
    side_num = _side_num(num_buckets)
    scores = F.softmax(cls_preds.view(-1, side_num), dim=1)  # (4n, side_num)
    score_topk, score_label = scores.topk(2, dim=1, largest=True, sorted=True)

    rescaled = bbox_rescale(proposals, scale_factor)
    px1, py1, px2, py2 = rescaled.unbind(-1)
    bucket_w = (px2 - px1) / num_buckets
    bucket_h = (py2 - py1) / num_buckets
    best_l, best_r, best_t, best_d = score_label[:, 0].view(-1, 4).unbind(-1)
    offsets = offset_preds.view(-1, 4, side_num)
    inds = torch.arange(proposals.size(0), device=proposals.device)
    x1 = px1 + (0.5 + best_l.float()) * bucket_w - offsets[inds, 0, best_l] * bucket_w
    x2 = px2 - (0.5 + best_r.float()) * bucket_w - offsets[inds, 1, best_r] * bucket_w
    y1 = py1 + (0.5 + best_t.float()) * bucket_h - offsets[inds, 2, best_t] * bucket_h
    y2 = py2 - (0.5 + best_d.float()) * bucket_h - offsets[inds, 3, best_d] * bucket_h
    if clip_border and max_shape is not None:
        x1 = x1.clamp(min=0, max=max_shape[1] - 1)
        y1 = y1.clamp(min=0, max=max_shape[0] - 1)
        x2 = x2.clamp(min=0, max=max_shape[1] - 1)
        y2 = y2.clamp(min=0, max=max_shape[0] - 1)
    bboxes = torch.stack([x1, y1, x2, y2], dim=-1)

    neighbours = (score_label[:, 0] - score_label[:, 1]).abs() == 1
    loc_confidence = score_topk[:, 0] + score_topk[:, 1] * neighbours.float()
    return bboxes, loc_confidence.view(-1, 4).mean(dim=1)
