"""Point priors of anchor-free detectors (FCOS, ATSS-free heads, RepPoints, YOLOX, AutoAssign).

A point prior is one location per feature-map cell, ``((x + offset) * stride_w,
(y + offset) * stride_h)``, ordered row by row (the same order as :class:`AnchorGenerator`
with one base anchor).
"""
from typing import List, Sequence, Tuple, Union

import numpy as np
import torch
from torch import Tensor

from mmdet_lite.registry import TASK_UTILS
from ...core.utils.errors import ConfigValueError

Device = Union[str, torch.device]
Stride = Union[int, float, Sequence[Union[int, float]]]


def _stride_pair(stride: Stride) -> Tuple:
    if isinstance(stride, (list, tuple)):
        if len(stride) != 2:
            raise ValueError('MlvlPointGenerator: a stride is a number or a (stride_w, stride_h) '
                             f'pair, got {stride}')
        return tuple(stride)
    return (stride, stride)


def _row_major_grid(x: Tensor, y: Tensor) -> Tuple[Tensor, Tensor]:
    """(len(y) * len(x),) x- and y-coordinates of the grid, row by row."""
    yy, xx = torch.meshgrid(y, x, indexing='ij')
    return xx.reshape(-1), yy.reshape(-1)


def _top_left_flags(featmap_size: Tuple[int, int], valid_size: Tuple[int, int],
                    device: Device) -> Tensor:
    """(h * w,) bool flags, True for the cells of the top-left ``valid_size`` block."""
    feat_h, feat_w = featmap_size
    valid_h, valid_w = valid_size
    if valid_h > feat_h or valid_w > feat_w:
        raise ValueError(f'valid size {tuple(valid_size)} exceeds the feature map size '
                         f'{tuple(featmap_size)}')
    valid_x = torch.zeros(feat_w, dtype=torch.bool, device=device)
    valid_y = torch.zeros(feat_h, dtype=torch.bool, device=device)
    valid_x[:valid_w] = True
    valid_y[:valid_h] = True
    valid_xx, valid_yy = _row_major_grid(valid_x, valid_y)
    return valid_xx & valid_yy


@TASK_UTILS.register_module()
class MlvlPointGenerator:
    """Point priors of several feature levels.

    Args:
        strides: per level a stride, or a (stride_w, stride_h) pair.
        offset: position of the point inside its cell, as a fraction of the stride (0.5: the
            cell centre, FCOS; 0: the top-left corner, YOLOX / AutoAssign).
    """

    def __init__(self, strides: Sequence[Stride], offset: float = 0.5) -> None:
        self.strides = [_stride_pair(stride) for stride in strides]
        self.offset = offset

    @property
    def num_levels(self) -> int:
        """Number of feature levels."""
        return len(self.strides)

    @property
    def num_base_priors(self) -> List[int]:
        """Per level the number of priors at one location (always 1)."""
        return [1 for _ in range(self.num_levels)]

    def grid_priors(self, featmap_sizes: Sequence[Tuple[int, int]],
                    dtype: torch.dtype = torch.float32, device: Device = 'cpu',
                    with_stride: bool = False) -> List[Tensor]:
        """Points of all levels.

        Args:
            featmap_sizes: per level the (h, w) of the feature map.
            dtype: dtype of the points.
            device: device of the points.
            with_stride: append the level's (stride_w, stride_h) to each point.

        Returns:
            per level an (h * w, 2) tensor of (x, y), or (h * w, 4) of
            (x, y, stride_w, stride_h) when ``with_stride``.
        """
        if len(featmap_sizes) != self.num_levels:
            raise ConfigValueError(f'MlvlPointGenerator has {self.num_levels} levels (strides '
                                   f'{self.strides}) but got {len(featmap_sizes)} feature map sizes')
        return [
            self.single_level_grid_priors(featmap_sizes[i], level_idx=i, dtype=dtype,
                                          device=device, with_stride=with_stride)
            for i in range(self.num_levels)
        ]

    def single_level_grid_priors(self, featmap_size: Tuple[int, int], level_idx: int,
                                 dtype: torch.dtype = torch.float32, device: Device = 'cpu',
                                 with_stride: bool = False) -> Tensor:
        """Of one level: the (h * w, 2) points, or (h * w, 4) with the stride appended."""
        feat_h, feat_w = featmap_size
        stride_w, stride_h = self.strides[level_idx]
        # offset and stride are applied before the cast, so that a float16 grid holds the
        # rounded float32 positions
        shift_x = ((torch.arange(0, feat_w, device=device) + self.offset) * stride_w).to(dtype)
        shift_y = ((torch.arange(0, feat_h, device=device) + self.offset) * stride_h).to(dtype)
        shift_xx, shift_yy = _row_major_grid(shift_x, shift_y)
        if not with_stride:
            return torch.stack([shift_xx, shift_yy], dim=-1)
        strides_w = shift_xx.new_full((shift_xx.shape[0], ), stride_w)
        strides_h = shift_xx.new_full((shift_yy.shape[0], ), stride_h)
        return torch.stack([shift_xx, shift_yy, strides_w, strides_h], dim=-1)

    def valid_flags(self, featmap_sizes: Sequence[Tuple[int, int]], pad_shape: Sequence[int],
                    device: Device = 'cpu') -> List[Tensor]:
        """Per level the (h * w,) bool flags of points whose cell lies in the padded image
        ``pad_shape`` (h, w[, c]); batch padding may add cells outside it."""
        if len(featmap_sizes) != self.num_levels:
            raise ValueError(f'MlvlPointGenerator has {self.num_levels} levels but got '
                             f'{len(featmap_sizes)} feature map sizes')
        h, w = pad_shape[:2]
        multi_level_flags = []
        for i in range(self.num_levels):
            stride_w, stride_h = self.strides[i]
            feat_h, feat_w = featmap_sizes[i]
            valid_feat_h = min(int(np.ceil(h / stride_h)), feat_h)
            valid_feat_w = min(int(np.ceil(w / stride_w)), feat_w)
            multi_level_flags.append(
                self.single_level_valid_flags((feat_h, feat_w), (valid_feat_h, valid_feat_w),
                                              device=device))
        return multi_level_flags

    def single_level_valid_flags(self, featmap_size: Tuple[int, int],
                                 valid_size: Tuple[int, int], device: Device = 'cpu') -> Tensor:
        """Of one level: (h * w,) flags, True for the top-left ``valid_size`` (h, w) cells."""
        return _top_left_flags(featmap_size, valid_size, device)

    def sparse_priors(self, prior_idxs: Tensor, featmap_size: Tuple[int, int], level_idx: int,
                      dtype: torch.dtype = torch.float32, device: Device = 'cpu') -> Tensor:
        """Of one level: the (k, 2) points with flat (row-major) indices ``prior_idxs`` in a
        feature map of size (h, w)."""
        height, width = featmap_size
        stride_w, stride_h = self.strides[level_idx]
        x = (prior_idxs % width + self.offset) * stride_w
        y = ((prior_idxs // width) % height + self.offset) * stride_h
        return torch.stack([x, y], 1).to(dtype).to(device)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(strides={self.strides}, offset={self.offset}, '
                f'num_levels={self.num_levels})')


@TASK_UTILS.register_module()
class PointGenerator:
    """Single-level point grid of mmdetection 1.x / early 2.x (points at the cell corners,
    stride appended); kept for user code that still builds it. New heads use
    :class:`MlvlPointGenerator`."""

    def grid_points(self, featmap_size: Tuple[int, int], stride: Union[int, float] = 16,
                    device: Device = 'cpu') -> Tensor:
        """(h * w, 3) points ``(x * stride, y * stride, stride)`` of an (h, w) feature map."""
        feat_h, feat_w = featmap_size
        shift_x = torch.arange(0., feat_w, device=device) * stride
        shift_y = torch.arange(0., feat_h, device=device) * stride
        shift_xx, shift_yy = _row_major_grid(shift_x, shift_y)
        strides = shift_x.new_full((shift_xx.shape[0], ), stride)
        return torch.stack([shift_xx, shift_yy, strides], dim=-1)

    def valid_flags(self, featmap_size: Tuple[int, int], valid_size: Tuple[int, int],
                    device: Device = 'cpu') -> Tensor:
        """(h * w,) flags, True for the top-left ``valid_size`` (h, w) cells."""
        return _top_left_flags(featmap_size, valid_size, device)
