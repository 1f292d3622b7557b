"""TBLR box coder of FSAF: distances from the prior's centre to the target's sides."""
from numbers import Number
from typing import Optional, Sequence, Union

import torch
from torch import Tensor

from mmdet_lite.registry import TASK_UTILS
from .base_bbox_coder import BaseBBoxCoder
from ....core.utils.errors import ConfigValueError

Normalizer = Union[float, Sequence[float]]
MaxShape = Union[Sequence[int], Sequence[Sequence[int]], Tensor]


@TASK_UTILS.register_module()
class TBLRBBoxCoder(BaseBBoxCoder):
    """Encode xyxy boxes as (top, bottom, left, right) distances from the prior's centre,
    divided by the prior's height (top, bottom) or width (left, right) and by ``normalizer``.

    Args:
        normalizer: one factor, or four (t, b, l, r).
        clip_border: clip decoded boxes to ``max_shape`` when it is given.
    """

    def __init__(self, normalizer: Normalizer = 4.0, clip_border: bool = True) -> None:
        _check_normalizer(normalizer)
        self.normalizer = normalizer
        self.clip_border = clip_border

    def encode(self, bboxes: Tensor, gt_bboxes: Tensor) -> Tensor:
        """(N, 4) priors and targets -> (N, 4) normalised (t, b, l, r)."""
        if bboxes.size(0) != gt_bboxes.size(0) or bboxes.size(-1) != 4 or gt_bboxes.size(-1) != 4:
            raise ValueError(f'TBLRBBoxCoder.encode needs (N, 4) priors and targets, got '
                             f'{tuple(bboxes.shape)} and {tuple(gt_bboxes.shape)}')
        return bboxes2tblr(bboxes, gt_bboxes, normalizer=self.normalizer)

    def decode(self, bboxes: Tensor, pred_bboxes: Tensor,
               max_shape: Optional[MaxShape] = None) -> Tensor:
        """(N, 4) or (B, N, 4) priors and (t, b, l, r) predictions -> xyxy boxes, clipped to
        ``max_shape`` (h, w[, c]) (one per image for batched input) when ``clip_border``."""
        return tblr2bboxes(bboxes, pred_bboxes, normalizer=self.normalizer, max_shape=max_shape,
                           clip_border=self.clip_border)


def _check_normalizer(normalizer: Normalizer) -> None:
    if not isinstance(normalizer, Number) and len(normalizer) != 4:
        raise ValueError('TBLRBBoxCoder: normalizer must be a number or 4 numbers (t, b, l, r), '
                         f'got {normalizer}')


def _normalizer_tensor(normalizer: Normalizer, ref: Tensor) -> Union[float, Tensor]:
    _check_normalizer(normalizer)
    return normalizer if isinstance(normalizer, Number) else ref.new_tensor(normalizer)


def bboxes2tblr(priors: Tensor, gts: Tensor, normalizer: Normalizer = 4.0,
                normalize_by_wh: bool = True) -> Tensor:
    """(N, 4) priors and targets -> (N, 4) (top, bottom, left, right) of the target's sides
    from the prior's centre, divided by the prior's h (t, b) / w (l, r) when
    ``normalize_by_wh``, then by ``normalizer``."""
    if priors.size(0) != gts.size(0):
        raise ValueError(f'bboxes2tblr: {priors.size(0)} priors but {gts.size(0)} targets')
    prior_centers = (priors[:, 0:2] + priors[:, 2:4]) / 2
    xmin, ymin, xmax, ymax = gts.split(1, dim=1)
    top = prior_centers[:, 1:2] - ymin
    bottom = ymax - prior_centers[:, 1:2]
    left = prior_centers[:, 0:1] - xmin
    right = xmax - prior_centers[:, 0:1]
    loc = torch.cat((top, bottom, left, right), dim=1)
    if normalize_by_wh:
        wh = priors[:, 2:4] - priors[:, 0:2]
        w, h = torch.split(wh, 1, dim=1)
        loc = torch.cat([loc[:, :2] / h, loc[:, 2:] / w], dim=1)
    return loc / _normalizer_tensor(normalizer, loc)


def tblr2bboxes(priors: Tensor, tblr: Tensor, normalizer: Normalizer = 4.0,
                normalize_by_wh: bool = True, max_shape: Optional[MaxShape] = None,
                clip_border: bool = True) -> Tensor:
    """Inverse of :func:`bboxes2tblr`.

    Args:
        priors: (N, 4) or (B, N, 4) priors.
        tblr: (N, 4) or (B, N, 4) encoded (top, bottom, left, right).
        normalizer: one factor or four (t, b, l, r).
        normalize_by_wh: the encoding was divided by the prior's size.
        max_shape: (h, w[, c]), or per image a shape for batched input.
        clip_border: clip to ``max_shape`` when it is given.

    Returns:
        xyxy boxes, shape of ``tblr``.
    """
    if priors.size(0) != tblr.size(0) or (priors.ndim == 3 and priors.size(1) != tblr.size(1)):
        raise ValueError(f'tblr2bboxes: priors {tuple(priors.shape)} and predictions '
                         f'{tuple(tblr.shape)} differ in N (or B)')
    loc_decode = tblr * _normalizer_tensor(normalizer, tblr)
    prior_centers = (priors[..., 0:2] + priors[..., 2:4]) / 2
    if normalize_by_wh:
        wh = priors[..., 2:4] - priors[..., 0:2]
        w, h = torch.split(wh, 1, dim=-1)
        loc_decode = torch.cat([h * loc_decode[..., :2], w * loc_decode[..., 2:]], dim=-1)
    top, bottom, left, right = loc_decode.split((1, 1, 1, 1), dim=-1)
    cx = prior_centers[..., 0:1]
    cy = prior_centers[..., 1:2]
    bboxes = torch.cat((cx - left, cy - top, cx + right, cy + bottom), dim=-1)
    if not clip_border or max_shape is None:
        return bboxes
    if not isinstance(max_shape, Tensor):
        max_shape = priors.new_tensor(max_shape)
    max_shape = max_shape[..., :2].type_as(priors)
    if max_shape.ndim == 2 and (bboxes.ndim != 3 or max_shape.size(0) != bboxes.size(0)):
        raise ConfigValueError(f'tblr2bboxes: {max_shape.size(0)} per-image max_shapes need batched '
                               f'(B, N, 4) priors with B = {max_shape.size(0)}, got '
                               f'{tuple(priors.shape)}')
    max_xy = torch.cat([max_shape, max_shape], dim=-1).flip(-1).unsqueeze(-2)
    min_xy = priors.new_tensor(0)
    bboxes = torch.where(bboxes < min_xy, min_xy, bboxes)
    return torch.where(bboxes > max_xy, max_xy, bboxes)
