"""(dx, dy, dw, dh) box coder of mmdetection 1.x checkpoints (widths count the end pixel)."""
import math
from typing import Optional, Sequence

import torch
from torch import Tensor

from mmdet_lite.registry import TASK_UTILS
from .base_bbox_coder import BaseBBoxCoder


@TASK_UTILS.register_module()
class LegacyDeltaXYWHBBoxCoder(BaseBBoxCoder):
    """:class:`DeltaXYWHBBoxCoder` with the 1.x pixel convention: ``w = x2 - x1 + 1``,
    ``h = y2 - y1 + 1``, decoded boxes clipped to [0, w - 1] x [0, h - 1]. Only for models
    trained with mmdetection 1.x (the ``legacy_1.x`` configs).

    Args:
        target_means: means of the deltas.
        target_stds: standard deviations of the deltas.
    """

    def __init__(self, target_means: Sequence[float] = (0., 0., 0., 0.),
                 target_stds: Sequence[float] = (1., 1., 1., 1.)) -> None:
        if len(target_means) != 4 or len(target_stds) != 4:
            raise ValueError('LegacyDeltaXYWHBBoxCoder: target_means and target_stds need 4 '
                             f'values each (dx, dy, dw, dh), got {target_means} and '
                             f'{target_stds}')
        self.means = target_means
        self.stds = target_stds

    def encode(self, bboxes: Tensor, gt_bboxes: Tensor) -> Tensor:
        """(N, 4) priors and targets -> (N, 4) normalised deltas (float32)."""
        if bboxes.size(0) != gt_bboxes.size(0) or bboxes.size(-1) != 4 or gt_bboxes.size(-1) != 4:
            raise ValueError(f'LegacyDeltaXYWHBBoxCoder.encode needs (N, 4) priors and targets, '
                             f'got {tuple(bboxes.shape)} and {tuple(gt_bboxes.shape)}')
        return legacy_bbox2delta(bboxes, gt_bboxes, self.means, self.stds)

    def decode(self, bboxes: Tensor, pred_bboxes: Tensor, max_shape: Optional[Sequence[int]] = None,
               wh_ratio_clip: float = 16 / 1000) -> Tensor:
        """(N, 4) priors and (N, 4 * C) deltas -> (N, 4 * C) boxes, clipped to
        ``max_shape`` (h, w[, c]) when given."""
        if pred_bboxes.size(0) != bboxes.size(0):
            raise ValueError(f'LegacyDeltaXYWHBBoxCoder.decode: {bboxes.size(0)} priors but '
                             f'{pred_bboxes.size(0)} deltas')
        return legacy_delta2bbox(bboxes, pred_bboxes, self.means, self.stds, max_shape,
                                 wh_ratio_clip)


def legacy_bbox2delta(proposals: Tensor, gt: Tensor, means: Sequence[float] = (0., 0., 0., 0.),
                      stds: Sequence[float] = (1., 1., 1., 1.)) -> Tensor:
    """(..., 4) proposals and targets -> (..., 4) 1.x deltas (float32)."""
    if proposals.size() != gt.size():
        raise ValueError(f'legacy_bbox2delta: proposals {tuple(proposals.shape)} and targets '
                         f'{tuple(gt.shape)} differ in shape')
    proposals = proposals.float()
    gt = gt.float()
    px = (proposals[..., 0] + proposals[..., 2]) * 0.5
    py = (proposals[..., 1] + proposals[..., 3]) * 0.5
    pw = proposals[..., 2] - proposals[..., 0] + 1.0
    ph = proposals[..., 3] - proposals[..., 1] + 1.0
    gx = (gt[..., 0] + gt[..., 2]) * 0.5
    gy = (gt[..., 1] + gt[..., 3]) * 0.5
    gw = gt[..., 2] - gt[..., 0] + 1.0
    gh = gt[..., 3] - gt[..., 1] + 1.0
    deltas = torch.stack([(gx - px) / pw, (gy - py) / ph, torch.log(gw / pw),
                          torch.log(gh / ph)], dim=-1)
    return (deltas - deltas.new_tensor(means)) / deltas.new_tensor(stds)


def legacy_delta2bbox(rois: Tensor, deltas: Tensor, means: Sequence[float] = (0., 0., 0., 0.),
                      stds: Sequence[float] = (1., 1., 1., 1.),
                      max_shape: Optional[Sequence[int]] = None,
                      wh_ratio_clip: float = 16 / 1000) -> Tensor:
    """Apply (N, 4 * C) 1.x deltas to (N, 4) rois; the inverse of :func:`legacy_bbox2delta`.

    |dw|, |dh| are bounded by ``|log(wh_ratio_clip)|``; boxes are clipped to
    [0, w - 1] x [0, h - 1] of ``max_shape`` (h, w[, c]) when it is given.
    """
    num_classes = deltas.size(1) // 4
    denorm = deltas * deltas.new_tensor(stds).repeat(1, num_classes) + deltas.new_tensor(
        means).repeat(1, num_classes)
    dx = denorm[:, 0::4]
    dy = denorm[:, 1::4]
    max_ratio = abs(math.log(wh_ratio_clip))
    dw = denorm[:, 2::4].clamp(min=-max_ratio, max=max_ratio)
    dh = denorm[:, 3::4].clamp(min=-max_ratio, max=max_ratio)
    px = ((rois[:, 0] + rois[:, 2]) * 0.5)[:, None]
    py = ((rois[:, 1] + rois[:, 3]) * 0.5)[:, None]
    pw = (rois[:, 2] - rois[:, 0] + 1.0)[:, None]
    ph = (rois[:, 3] - rois[:, 1] + 1.0)[:, None]
    gw = pw * dw.exp()
    gh = ph * dh.exp()
    gx = px + pw * dx
    gy = py + ph * dy
    x1 = gx - gw * 0.5
    y1 = gy - gh * 0.5
    x2 = gx + gw * 0.5
    y2 = gy + gh * 0.5
    if max_shape is not None:
        x1 = x1.clamp(min=0, max=max_shape[1] - 1)
        y1 = y1.clamp(min=0, max=max_shape[0] - 1)
        x2 = x2.clamp(min=0, max=max_shape[1] - 1)
        y2 = y2.clamp(min=0, max=max_shape[0] - 1)
    return torch.stack([x1, y1, x2, y2], dim=-1).view_as(deltas)
