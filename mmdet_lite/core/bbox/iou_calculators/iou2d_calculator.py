"""Pairwise / aligned IoU, IoF and GIoU of xyxy boxes, and the ``BboxOverlaps2D`` calculator."""
from typing import Optional

import torch
from torch import Tensor

from mmdet_lite.registry import TASK_UTILS
from ....core.utils.errors import ConfigValueError

_MODES = ('iou', 'iof', 'giou')


def _clamp_min0(x: Tensor) -> Tensor:
    # CPU has no clamp kernel for float16; go through float32 there.
    if not x.is_cuda and x.dtype == torch.float16:
        return x.float().clamp(min=0).half()
    return x.clamp(min=0)


def bbox_overlaps(bboxes1: Tensor, bboxes2: Tensor, mode: str = 'iou', is_aligned: bool = False,
                  eps: float = 1e-6) -> Tensor:
    """Overlaps between two sets of xyxy boxes.

    Args:
        bboxes1: (B..., m, 4) boxes (or empty).
        bboxes2: (B..., n, 4) boxes (or empty); same leading dims B... as ``bboxes1``.
        mode: 'iou' (intersection over union), 'iof' (intersection over the area of
            ``bboxes1``, i.e. the foreground) or 'giou' (generalized IoU).
        is_aligned: if True, m == n and the i-th box of ``bboxes1`` is compared with the i-th of
            ``bboxes2`` only.
        eps: lower bound of the union (and enclosing area) to avoid a division by zero.

    Returns:
        (B..., m, n) overlaps, or (B..., m) if ``is_aligned``.
    """
    if mode not in _MODES:
        raise ValueError(f"bbox_overlaps: mode must be one of {_MODES}, got '{mode}'")
    if not (bboxes1.size(-1) == 4 or bboxes1.size(0) == 0):
        raise ValueError(f'bbox_overlaps: bboxes1 must be (..., 4) xyxy boxes, got shape '
                         f'{tuple(bboxes1.shape)}')
    if not (bboxes2.size(-1) == 4 or bboxes2.size(0) == 0):
        raise ValueError(f'bbox_overlaps: bboxes2 must be (..., 4) xyxy boxes, got shape '
                         f'{tuple(bboxes2.shape)}')
    if bboxes1.shape[:-2] != bboxes2.shape[:-2]:
        raise ConfigValueError(f'bbox_overlaps: the batch dims of bboxes1 {tuple(bboxes1.shape)} and '
                               f'bboxes2 {tuple(bboxes2.shape)} differ')
    batch_shape = bboxes1.shape[:-2]
    rows = bboxes1.size(-2)
    cols = bboxes2.size(-2)
    if is_aligned and rows != cols:
        raise ValueError(f'bbox_overlaps(is_aligned=True) needs as many boxes in bboxes1 ({rows}) '
                         f'as in bboxes2 ({cols})')

    if rows * cols == 0:
        if is_aligned:
            return bboxes1.new_zeros(batch_shape + (rows, ))
        return bboxes1.new_zeros(batch_shape + (rows, cols))

    area1 = (bboxes1[..., 2] - bboxes1[..., 0]) * (bboxes1[..., 3] - bboxes1[..., 1])
    area2 = (bboxes2[..., 2] - bboxes2[..., 0]) * (bboxes2[..., 3] - bboxes2[..., 1])

    if is_aligned:
        b1_lt, b1_rb = bboxes1[..., :2], bboxes1[..., 2:]
        b2_lt, b2_rb = bboxes2[..., :2], bboxes2[..., 2:]
        area1_, area2_ = area1, area2
    else:
        b1_lt, b1_rb = bboxes1[..., :, None, :2], bboxes1[..., :, None, 2:]
        b2_lt, b2_rb = bboxes2[..., None, :, :2], bboxes2[..., None, :, 2:]
        area1_, area2_ = area1[..., None], area2[..., None, :]

    wh = _clamp_min0(torch.min(b1_rb, b2_rb) - torch.max(b1_lt, b2_lt))
    overlap = wh[..., 0] * wh[..., 1]
    if mode in ('iou', 'giou'):
        union = area1_ + area2_ - overlap
    else:
        union = area1_ + torch.zeros_like(overlap)
    eps_t = union.new_tensor([eps])
    union = torch.max(union, eps_t)
    ious = overlap / union
    if mode in ('iou', 'iof'):
        return ious

    enclose_wh = _clamp_min0(torch.max(b1_rb, b2_rb) - torch.min(b1_lt, b2_lt))
    enclose_area = torch.max(enclose_wh[..., 0] * enclose_wh[..., 1], eps_t)
    return ious - (enclose_area - union) / enclose_area


@TASK_UTILS.register_module()
class BboxOverlaps2D:
    """IoU calculator: ``bbox_overlaps`` that also accepts (..., 5) boxes (score dropped).

    Args:
        scale: scale applied to the boxes before a float16 computation.
        dtype: 'fp16' to compute in half precision (saves memory on GPU), else None.
    """

    def __init__(self, scale: float = 1., dtype: Optional[str] = None) -> None:
        if dtype not in (None, 'fp16'):
            raise ValueError(f"BboxOverlaps2D: dtype must be None or 'fp16', got '{dtype}'")
        self.scale = scale
        self.dtype = dtype

    def __call__(self, bboxes1: Tensor, bboxes2: Tensor, mode: str = 'iou',
                 is_aligned: bool = False) -> Tensor:
        """(m, 4|5) x (n, 4|5) -> (m, n) overlaps, or (m,) when aligned."""
        for name, boxes in (('bboxes1', bboxes1), ('bboxes2', bboxes2)):
            if boxes.size(-1) not in (0, 4, 5):
                raise ValueError(f'BboxOverlaps2D: {name} must have 4 (xyxy) or 5 (xyxy, score) '
                                 f'columns, got shape {tuple(boxes.shape)}')
        if bboxes1.size(-1) == 5:
            bboxes1 = bboxes1[..., :4]
        if bboxes2.size(-1) == 5:
            bboxes2 = bboxes2[..., :4]
        if self.dtype == 'fp16':
            bboxes1 = (bboxes1 / self.scale).half()
            bboxes2 = (bboxes2 / self.scale).half()
            overlaps = bbox_overlaps(bboxes1, bboxes2, mode, is_aligned)
            if not overlaps.is_cuda:
                overlaps = overlaps.float()
            return overlaps
        return bbox_overlaps(bboxes1, bboxes2, mode, is_aligned)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(scale={self.scale}, dtype={self.dtype})'
