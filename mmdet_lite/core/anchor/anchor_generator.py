"""Anchor generator of anchor-based detectors (RPN, RetinaNet), mmdetection 2.x semantics."""
import warnings
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from torch import Tensor

from mmdet_lite.registry import TASK_UTILS

Device = Union[str, torch.device]


def _pair(value: Union[int, float, Sequence]) -> Tuple:
    if isinstance(value, (list, tuple)):
        if len(value) != 2:
            raise ValueError(f'AnchorGenerator: a stride is a number or a (w, h) pair, got {value}')
        return tuple(value)
    return (value, value)


@TASK_UTILS.register_module()
class AnchorGenerator:
    """Multi-level anchors: for each level a set of base anchors shifted over the feature map.

    Base anchors of a level (size ``base_size``) are centred at
    ``(center_offset * base_size, center_offset * base_size)`` (or at ``centers[i]``) and have
    ``w = base_size * scale / sqrt(ratio)``, ``h = base_size * scale * sqrt(ratio)``
    (``ratio = h / w``); anchors of location (x, y) add ``(x * stride_w, y * stride_h)``.
    Anchors are ordered location-major (row by row), base anchors within a location.

    Args:
        strides: per level a stride, or a (stride_w, stride_h) pair.
        ratios: height / width ratios of the base anchors.
        scales: anchor scales (relative to ``base_size``); or give ``octave_base_scale`` and
            ``scales_per_octave`` instead.
        base_sizes: per level the base size; defaults to the (smaller) stride.
        scale_major: order base anchors scale-major within a ratio (True: all scales of the
            first ratio first) or ratio-major.
        octave_base_scale: base scale of the octave scales (RetinaNet).
        scales_per_octave: number of scales per octave: scales are
            ``octave_base_scale * 2 ** (i / scales_per_octave)``.
        centers: per level an explicit (x, y) centre of the base anchors.
        center_offset: centre of base anchors as a fraction of the base size (0 or 0.5 usually).
        round_base_anchors: round the base anchors' coordinates to integers, as torchvision's
            ``AnchorGenerator`` does (e.g. ratio 0.5 at size 32 gives ±23 x ±11, not
            ±22.63 x ±11.31). Default False: mmdetection 2.x's exact anchors.
        strides_from_input: as torchvision, use ``input_size // featmap_size`` (per axis) as
            a level's stride instead of the nominal one; it differs when a level's map was
            rounded up (an 800-pixel side has a 13-cell P6, stride 800 // 13 = 61, not 64).
            The input size is taken as ``featmap_sizes[0] * strides[0]``, exact when the
            input is padded to a multiple of the coarsest stride (``Pad(size_divisor=32)``).
            Default False: mmdetection 2.x's fixed strides.
        truncate_sizes: truncate each anchor size ``base_size * scale`` to an integer before
            the ratios apply, as torchvision's RetinaNet (sizes ``int(32 * 2 ** (i / 3))``:
            32, 40, 50, not 32, 40.3, 50.8). Exact for power-of-two base sizes. Default False.
    """

    def __init__(self, strides: Sequence[Union[int, Sequence[int]]], ratios: Sequence[float],
                 scales: Optional[Sequence[float]] = None,
                 base_sizes: Optional[Sequence[int]] = None, scale_major: bool = True,
                 octave_base_scale: Optional[float] = None,
                 scales_per_octave: Optional[int] = None,
                 centers: Optional[Sequence[Tuple[float, float]]] = None,
                 center_offset: float = 0., round_base_anchors: bool = False,
                 strides_from_input: bool = False, truncate_sizes: bool = False) -> None:
        if center_offset != 0 and centers is not None:
            raise ValueError('AnchorGenerator: give either centers or a non-zero center_offset, '
                             f'not both (center_offset={center_offset}, centers={centers})')
        if not 0 <= center_offset <= 1:
            raise ValueError(f'AnchorGenerator: center_offset must be in [0, 1], got '
                             f'{center_offset}')
        if centers is not None and len(centers) != len(strides):
            raise ValueError(f'AnchorGenerator: {len(centers)} centers for {len(strides)} '
                             'strides; give one centre per level')
        self.strides = [_pair(stride) for stride in strides]
        self.base_sizes = ([min(stride) for stride in self.strides]
                           if base_sizes is None else list(base_sizes))
        if len(self.base_sizes) != len(self.strides):
            raise ValueError(f'AnchorGenerator: {len(self.base_sizes)} base_sizes for '
                             f'{len(self.strides)} strides; give one base size per level')
        has_octave = octave_base_scale is not None and scales_per_octave is not None
        if has_octave == (scales is not None):
            raise ValueError('AnchorGenerator: give either scales or both octave_base_scale and '
                             f'scales_per_octave (got scales={scales}, octave_base_scale='
                             f'{octave_base_scale}, scales_per_octave={scales_per_octave})')
        if scales is not None:
            self.scales = torch.Tensor(scales)
        else:
            octave_scales = np.array(
                [2**(i / scales_per_octave) for i in range(scales_per_octave)])
            self.scales = torch.Tensor(octave_scales * octave_base_scale)
        self.octave_base_scale = octave_base_scale
        self.scales_per_octave = scales_per_octave
        self.ratios = torch.Tensor(ratios)
        self.scale_major = scale_major
        self.centers = centers
        self.center_offset = center_offset
        self.round_base_anchors = round_base_anchors
        self.strides_from_input = strides_from_input
        self.truncate_sizes = truncate_sizes
        self.base_anchors = self.gen_base_anchors()

    @property
    def num_base_anchors(self) -> List[int]:
        """Per level the number of anchors at one location."""
        return self.num_base_priors

    @property
    def num_base_priors(self) -> List[int]:
        """Per level the number of priors at one location."""
        return [base_anchors.size(0) for base_anchors in self.base_anchors]

    @property
    def num_levels(self) -> int:
        """Number of feature levels."""
        return len(self.strides)

    def gen_base_anchors(self) -> List[Tensor]:
        """Per level the (A, 4) base anchors."""
        multi_level_base_anchors = []
        for i, base_size in enumerate(self.base_sizes):
            center = None if self.centers is None else self.centers[i]
            multi_level_base_anchors.append(
                self.gen_single_level_base_anchors(base_size, scales=self.scales,
                                                   ratios=self.ratios, center=center))
        return multi_level_base_anchors

    def gen_single_level_base_anchors(self, base_size: Union[int, float], scales: Tensor,
                                      ratios: Tensor,
                                      center: Optional[Tuple[float, float]] = None) -> Tensor:
        """Of one level: the (len(ratios) * len(scales), 4) base anchors."""
        w = base_size
        h = base_size
        if center is None:
            x_center = self.center_offset * w
            y_center = self.center_offset * h
        else:
            x_center, y_center = center

        h_ratios = torch.sqrt(ratios)
        w_ratios = 1 / h_ratios
        if self.truncate_sizes:
            scales = torch.floor(w * scales) / w
        if self.scale_major:
            ws = (w * w_ratios[:, None] * scales[None, :]).view(-1)
            hs = (h * h_ratios[:, None] * scales[None, :]).view(-1)
        else:
            ws = (w * scales[:, None] * w_ratios[None, :]).view(-1)
            hs = (h * scales[:, None] * h_ratios[None, :]).view(-1)

        base_anchors = torch.stack([x_center - 0.5 * ws, y_center - 0.5 * hs,
                                    x_center + 0.5 * ws, y_center + 0.5 * hs], dim=-1)
        return base_anchors.round() if self.round_base_anchors else base_anchors

    def _meshgrid(self, x: Tensor, y: Tensor, row_major: bool = True) -> Tuple[Tensor, Tensor]:
        xx = x.repeat(y.shape[0])
        yy = y.view(-1, 1).repeat(1, x.shape[0]).view(-1)
        return (xx, yy) if row_major else (yy, xx)

    def grid_priors(self, featmap_sizes: Sequence[Tuple[int, int]],
                    dtype: torch.dtype = torch.float32, device: Device = 'cpu') -> List[Tensor]:
        """Anchors of all levels.

        Args:
            featmap_sizes: per level the (h, w) of the feature map.
            dtype: dtype of the anchors.
            device: device of the anchors.

        Returns:
            per level the (h * w * A, 4) anchors.
        """
        if len(featmap_sizes) != self.num_levels:
            raise ValueError(f'AnchorGenerator has {self.num_levels} levels (strides '
                             f'{self.strides}) but got {len(featmap_sizes)} feature map sizes')
        strides: List[Optional[Tuple[int, int]]] = [None] * self.num_levels
        if self.strides_from_input:
            input_h = featmap_sizes[0][0] * self.strides[0][1]
            input_w = featmap_sizes[0][1] * self.strides[0][0]
            strides = [(input_w // w, input_h // h) for h, w in featmap_sizes]
        return [
            self.single_level_grid_priors(featmap_sizes[i], level_idx=i, dtype=dtype,
                                          device=device, stride=strides[i])
            for i in range(self.num_levels)
        ]

    def single_level_grid_priors(self, featmap_size: Tuple[int, int], level_idx: int,
                                 dtype: torch.dtype = torch.float32,
                                 device: Device = 'cpu',
                                 stride: Optional[Tuple[int, int]] = None) -> Tensor:
        """Of one level: the (h * w * A, 4) anchors of a (h, w) feature map.

        ``stride`` (w, h) overrides the level's nominal stride (see ``strides_from_input``).
        """
        base_anchors = self.base_anchors[level_idx].to(device).to(dtype)
        feat_h, feat_w = featmap_size
        stride_w, stride_h = self.strides[level_idx] if stride is None else stride
        shift_x = torch.arange(0, feat_w, device=device).to(dtype) * stride_w
        shift_y = torch.arange(0, feat_h, device=device).to(dtype) * stride_h
        shift_xx, shift_yy = self._meshgrid(shift_x, shift_y)
        shifts = torch.stack([shift_xx, shift_yy, shift_xx, shift_yy], dim=-1)
        return (base_anchors[None, :, :] + shifts[:, None, :]).view(-1, 4)

    def sparse_priors(self, prior_idxs: Tensor, featmap_size: Tuple[int, int], level_idx: int,
                      dtype: torch.dtype = torch.float32, device: Device = 'cpu') -> Tensor:
        """Of one level: the (k, 4) anchors with flat indices ``prior_idxs``."""
        height, width = featmap_size
        num_base_anchors = self.num_base_anchors[level_idx]
        base_anchor_id = prior_idxs % num_base_anchors
        x = (prior_idxs // num_base_anchors) % width * self.strides[level_idx][0]
        y = (prior_idxs // width // num_base_anchors) % height * self.strides[level_idx][1]
        priors = torch.stack([x, y, x, y], 1).to(dtype).to(device)
        return priors + self.base_anchors[level_idx][base_anchor_id, :].to(device).to(dtype)

    def grid_anchors(self, featmap_sizes: Sequence[Tuple[int, int]],
                     device: Device = 'cpu') -> List[Tensor]:
        """Deprecated name of :meth:`grid_priors` (float32 anchors)."""
        warnings.warn('AnchorGenerator.grid_anchors is deprecated; use grid_priors',
                      DeprecationWarning)
        return self.grid_priors(featmap_sizes, dtype=torch.float32, device=device)

    def single_level_grid_anchors(self, base_anchors: Tensor, featmap_size: Tuple[int, int],
                                  stride: Tuple[int, int] = (16, 16),
                                  device: Device = 'cpu') -> Tensor:
        """Of one level: deprecated form taking the base anchors and stride explicitly."""
        warnings.warn('AnchorGenerator.single_level_grid_anchors is deprecated; use '
                      'single_level_grid_priors', DeprecationWarning)
        base_anchors = base_anchors.to(device)
        feat_h, feat_w = featmap_size
        shift_x = torch.arange(0, feat_w, device=device) * stride[0]
        shift_y = torch.arange(0, feat_h, device=device) * stride[1]
        shift_xx, shift_yy = self._meshgrid(shift_x, shift_y)
        shifts = torch.stack([shift_xx, shift_yy, shift_xx, shift_yy], dim=-1).type_as(
            base_anchors)
        return (base_anchors[None, :, :] + shifts[:, None, :]).view(-1, 4)

    def valid_flags(self, featmap_sizes: Sequence[Tuple[int, int]], pad_shape: Sequence[int],
                    device: Device = 'cpu') -> List[Tensor]:
        """Per level the (h * w * A,) bool flags of anchors whose location lies in the padded
        image ``pad_shape`` (h, w[, c]) (batch padding may add locations outside it)."""
        if len(featmap_sizes) != self.num_levels:
            raise ValueError(f'AnchorGenerator has {self.num_levels} levels but got '
                             f'{len(featmap_sizes)} feature map sizes')
        multi_level_flags = []
        h, w = pad_shape[:2]
        for i in range(self.num_levels):
            anchor_stride = self.strides[i]
            feat_h, feat_w = featmap_sizes[i]
            valid_feat_h = min(int(np.ceil(h / anchor_stride[1])), feat_h)
            valid_feat_w = min(int(np.ceil(w / anchor_stride[0])), feat_w)
            multi_level_flags.append(
                self.single_level_valid_flags((feat_h, feat_w), (valid_feat_h, valid_feat_w),
                                              self.num_base_anchors[i], device=device))
        return multi_level_flags

    def single_level_valid_flags(self, featmap_size: Tuple[int, int],
                                 valid_size: Tuple[int, int], num_base_anchors: int,
                                 device: Device = 'cpu') -> Tensor:
        """Of one level: (h * w * A,) flags, True for the top-left ``valid_size`` locations."""
        feat_h, feat_w = featmap_size
        valid_h, valid_w = valid_size
        if valid_h > feat_h or valid_w > feat_w:
            raise ValueError(f'valid size {valid_size} exceeds the feature map size '
                             f'{featmap_size}')
        valid_x = torch.zeros(feat_w, dtype=torch.bool, device=device)
        valid_y = torch.zeros(feat_h, dtype=torch.bool, device=device)
        valid_x[:valid_w] = 1
        valid_y[:valid_h] = 1
        valid_xx, valid_yy = self._meshgrid(valid_x, valid_y)
        valid = valid_xx & valid_yy
        return valid[:, None].expand(valid.size(0), num_base_anchors).contiguous().view(-1)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(strides={self.strides}, ratios={self.ratios.tolist()}'
                f', scales={self.scales.tolist()}, base_sizes={self.base_sizes}, '
                f'scale_major={self.scale_major}, octave_base_scale={self.octave_base_scale}, '
                f'scales_per_octave={self.scales_per_octave}, num_levels={self.num_levels}, '
                f'centers={self.centers}, center_offset={self.center_offset}, '
                f'round_base_anchors={self.round_base_anchors}, '
                f'strides_from_input={self.strides_from_input})')
