"""(dx, dy, dw, dh) box coder of R-CNN: the deltas between a prior and a target box."""
import math
from typing import Optional, Sequence, Tuple, Union

import torch
from torch import Tensor

from mmdet_lite.registry import TASK_UTILS
from .base_bbox_coder import BaseBBoxCoder
from ....core.utils.errors import ConfigValueError

MaxShape = Union[Sequence[int], Sequence[Sequence[int]], Tensor]


@TASK_UTILS.register_module()
class DeltaXYWHBBoxCoder(BaseBBoxCoder):
    """Encode xyxy boxes as normalised (dx, dy, dw, dh) deltas w.r.t. priors, and back.

    ``dx = (gx - px) / pw``, ``dy = (gy - py) / ph``, ``dw = log(gw / pw)``,
    ``dh = log(gh / ph)`` (centres and sizes, no +1), then ``(delta - means) / stds``.

    Args:
        target_means: means of the deltas.
        target_stds: standard deviations of the deltas.
        clip_border: clip decoded boxes to the image when ``max_shape`` is given.
        add_ctr_clamp: clamp the centre shift (in pixels) to ``[-ctr_clamp, ctr_clamp]`` and
            only bound dw/dh from above (as in VFNet / YOLOF).
        ctr_clamp: the centre-shift bound in pixels.
    """

    def __init__(self, target_means: Sequence[float] = (0., 0., 0., 0.),
                 target_stds: Sequence[float] = (1., 1., 1., 1.), clip_border: bool = True,
                 add_ctr_clamp: bool = False, ctr_clamp: int = 32) -> None:
        if len(target_means) != 4 or len(target_stds) != 4:
            raise ValueError('DeltaXYWHBBoxCoder: target_means and target_stds need 4 values '
                             f'each (dx, dy, dw, dh), got {target_means} and {target_stds}')
        self.means = target_means
        self.stds = target_stds
        self.clip_border = clip_border
        self.add_ctr_clamp = add_ctr_clamp
        self.ctr_clamp = ctr_clamp

    def encode(self, bboxes: Tensor, gt_bboxes: Tensor) -> Tensor:
        """Deltas that turn ``bboxes`` into ``gt_bboxes``.

        Args:
            bboxes: (..., 4) priors, xyxy.
            gt_bboxes: (..., 4) targets, xyxy, same shape.

        Returns:
            (..., 4) float32 deltas.
        """
        if bboxes.shape != gt_bboxes.shape or bboxes.size(-1) != 4:
            raise ValueError(f'DeltaXYWHBBoxCoder.encode: bboxes {tuple(bboxes.shape)} and '
                             f'gt_bboxes {tuple(gt_bboxes.shape)} must both be (..., 4)')
        return bbox2delta(bboxes, gt_bboxes, self.means, self.stds)

    def decode(self, bboxes: Tensor, pred_bboxes: Tensor, max_shape: Optional[MaxShape] = None,
               wh_ratio_clip: float = 16 / 1000) -> Tensor:
        """Apply the deltas ``pred_bboxes`` to the priors ``bboxes``.

        Args:
            bboxes: (N, 4) or batched (B, N, 4) priors.
            pred_bboxes: (N, 4 * C) or (B, N, 4 * C) deltas (C = 1, or one box per class).
            max_shape: (h, w[, c]) of the image, or per image a list of them / a (B, 2) tensor
                for batched input; decoded boxes are clipped to it when ``clip_border``.
            wh_ratio_clip: bound of |dw|, |dh| is ``|log(wh_ratio_clip)|``.

        Returns:
            boxes with the shape of ``pred_bboxes``.
        """
        if pred_bboxes.size(0) != bboxes.size(0):
            raise ValueError(f'DeltaXYWHBBoxCoder.decode: {bboxes.size(0)} priors but '
                             f'{pred_bboxes.size(0)} deltas (shapes {tuple(bboxes.shape)}, '
                             f'{tuple(pred_bboxes.shape)})')
        if pred_bboxes.ndim == 3 and pred_bboxes.size(1) != bboxes.size(1):
            raise ValueError(f'DeltaXYWHBBoxCoder.decode: batched priors {tuple(bboxes.shape)} '
                             f'and deltas {tuple(pred_bboxes.shape)} differ in N')
        return delta2bbox(bboxes, pred_bboxes, self.means, self.stds, max_shape, wh_ratio_clip,
                          self.clip_border, self.add_ctr_clamp, self.ctr_clamp)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(target_means={self.means}, '
                f'target_stds={self.stds}, clip_border={self.clip_border})')


def bbox2delta(proposals: Tensor, gt: Tensor, means: Sequence[float] = (0., 0., 0., 0.),
               stds: Sequence[float] = (1., 1., 1., 1.)) -> Tensor:
    """(..., 4) xyxy proposals and targets -> (..., 4) normalised deltas (float32)."""
    proposals = proposals.float()
    gt = gt.float()
    pxy = (proposals[..., :2] + proposals[..., 2:]) * 0.5
    pwh = proposals[..., 2:] - proposals[..., :2]
    gxy = (gt[..., :2] + gt[..., 2:]) * 0.5
    gwh = gt[..., 2:] - gt[..., :2]
    deltas = torch.cat([(gxy - pxy) / pwh, torch.log(gwh / pwh)], dim=-1)
    return (deltas - deltas.new_tensor(means)) / deltas.new_tensor(stds)


def _max_xy(max_shape: MaxShape, ref: Tensor) -> Tensor:
    """(w, h) bound(s) from an (h, w[, c]) shape, per-image shapes or an (B, 2+) tensor."""
    if not isinstance(max_shape, Tensor):
        max_shape = ref.new_tensor(max_shape)
    max_shape = max_shape[..., :2].to(ref)
    return max_shape.flip(-1)


def delta2bbox(rois: Tensor, deltas: Tensor, means: Sequence[float] = (0., 0., 0., 0.),
               stds: Sequence[float] = (1., 1., 1., 1.), max_shape: Optional[MaxShape] = None,
               wh_ratio_clip: float = 16 / 1000, clip_border: bool = True,
               add_ctr_clamp: bool = False, ctr_clamp: int = 32) -> Tensor:
    """Apply deltas to boxes; the inverse of :func:`bbox2delta`.

    Args:
        rois: (..., N, 4) priors.
        deltas: (..., N, 4 * C) deltas, C boxes per prior (class-specific regression).
        means, stds: de-normalisation of the deltas.
        max_shape: (h, w[, c]), or per leading index a shape (list or (B, 2+) tensor).
        wh_ratio_clip: |dw|, |dh| are bounded by ``|log(wh_ratio_clip)|``.
        clip_border: clip to ``max_shape`` when it is given.
        add_ctr_clamp: bound the centre shift in pixels by ``ctr_clamp`` (dw/dh only from above).
        ctr_clamp: the bound in pixels.

    Returns:
        (..., N, 4 * C) xyxy boxes.
    """
    if deltas.numel() == 0:
        return deltas
    num_classes = deltas.size(-1) // 4
    lead = deltas.shape[:-1]
    deltas_ = deltas.reshape(lead + (num_classes, 4))
    denorm = deltas_ * deltas.new_tensor(stds) + deltas.new_tensor(means)
    dxy = denorm[..., :2]
    dwh = denorm[..., 2:]

    rois_ = rois[..., None, :4]
    pxy = (rois_[..., :2] + rois_[..., 2:]) * 0.5
    pwh = rois_[..., 2:] - rois_[..., :2]
    dxy_wh = pwh * dxy

    max_ratio = abs(math.log(wh_ratio_clip))
    if add_ctr_clamp:
        dxy_wh = torch.clamp(dxy_wh, max=ctr_clamp, min=-ctr_clamp)
        dwh = torch.clamp(dwh, max=max_ratio)
    else:
        dwh = dwh.clamp(min=-max_ratio, max=max_ratio)

    gxy = pxy + dxy_wh
    gwh = pwh * dwh.exp()
    bboxes = torch.cat([gxy - gwh * 0.5, gxy + gwh * 0.5], dim=-1)

    if clip_border and max_shape is not None:
        max_xy = _max_xy(max_shape, bboxes)
        if max_xy.ndim == 2:
            if bboxes.ndim != 4 or max_xy.size(0) != bboxes.size(0):
                raise ConfigValueError('delta2bbox: per-image max_shape needs batched (B, N, 4*C) '
                                       f'deltas with B = {max_xy.size(0)}, got {tuple(deltas.shape)}')
            max_xy = max_xy[:, None, None, :]
        max_xyxy = torch.cat([max_xy, max_xy], dim=-1)
        bboxes = torch.where(bboxes < 0, bboxes.new_tensor(0.), bboxes)
        bboxes = torch.min(bboxes, max_xyxy)
    return bboxes.reshape(deltas.shape)
