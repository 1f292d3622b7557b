"""RoI pooling layers with mmcv 1.x's names and arguments, on ``torchvision.ops``.

``rois`` everywhere is a Tensor (K, 5): ``[batch_index, x1, y1, x2, y2]`` in input-image pixels.
"""
from typing import Tuple, Union

import torch
from torch import nn
from torch.nn.modules.utils import _pair
from torchvision.ops import roi_pool

from ...layers.deform_roi_pool import (DeformRoIPool, DeformRoIPoolPack,
                                       ModulatedDeformRoIPoolPack)
from .roi_align_function import roi_align_fast_backward
from .simple_roi_align import SimpleRoIAlign

Tensor = torch.Tensor


class RoIAlign(nn.Module):
    """mmcv's ``RoIAlign`` (``pool_mode='avg'``) on ``torchvision.ops.roi_align``.

    Args:
        output_size: (h, w) of each pooled feature, or one int for both.
        spatial_scale: feature-map size / image size, i.e. ``1 / stride``.
        sampling_ratio: sampling points per bin side; 0 = adaptive ``ceil(roi_size / output_size)``.
        pool_mode: only 'avg' (torchvision has no max-mode RoIAlign).
        aligned: shift boxes by -0.5 px (mmcv's default True; torchvision's default is False).
        use_torchvision: accepted for mmcv config compatibility; this is always torchvision.
    """

    def __init__(self, output_size: Union[int, Tuple[int, int]], spatial_scale: float = 1.0,
                 sampling_ratio: int = 0, pool_mode: str = 'avg', aligned: bool = True,
                 use_torchvision: bool = False):
        super().__init__()
        if pool_mode != 'avg':
            raise ValueError(f"RoIAlign pool_mode={pool_mode!r} is not supported: "
                             "torchvision.ops.roi_align averages; set pool_mode='avg'")
        self.output_size = _pair(output_size)
        self.spatial_scale = float(spatial_scale)
        self.sampling_ratio = int(sampling_ratio)
        self.pool_mode = pool_mode
        self.aligned = aligned
        self.use_torchvision = use_torchvision

    def forward(self, input: Tensor, rois: Tensor) -> Tensor:
        """input (N, C, H, W), rois (K, 5) -> (K, C, out_h, out_w)."""
        return roi_align_fast_backward(input, rois.to(input.dtype), self.output_size,
                                       self.spatial_scale, self.sampling_ratio, self.aligned)

    def extra_repr(self) -> str:
        return (f'output_size={self.output_size}, spatial_scale={self.spatial_scale}, '
                f'sampling_ratio={self.sampling_ratio}, aligned={self.aligned}')


class RoIPool(nn.Module):
    """mmcv's ``RoIPool`` (max pooling over quantised bins) on ``torchvision.ops.roi_pool``."""

    def __init__(self, output_size: Union[int, Tuple[int, int]], spatial_scale: float = 1.0):
        super().__init__()
        self.output_size = _pair(output_size)
        self.spatial_scale = float(spatial_scale)

    def forward(self, input: Tensor, rois: Tensor) -> Tensor:
        """input (N, C, H, W), rois (K, 5) -> (K, C, out_h, out_w)."""
        return roi_pool(input, rois.to(input.dtype), self.output_size, self.spatial_scale)

    def extra_repr(self) -> str:
        return f'output_size={self.output_size}, spatial_scale={self.spatial_scale}'


ROI_LAYERS = {'RoIAlign': RoIAlign, 'RoIPool': RoIPool, 'DeformRoIPool': DeformRoIPool,
              'DeformRoIPoolPack': DeformRoIPoolPack,
              'ModulatedDeformRoIPoolPack': ModulatedDeformRoIPoolPack,
              'SimpleRoIAlign': SimpleRoIAlign}


def build_roi_layer(cfg: dict, spatial_scale: float) -> nn.Module:
    """Build one RoI layer from ``dict(type='RoIAlign'|'RoIPool', output_size=..., ...)``."""
    if 'type' not in cfg:
        raise KeyError(f"roi_layer config {cfg} has no 'type'; use type='RoIAlign' or 'RoIPool'")
    args = dict(cfg)
    layer_type = args.pop('type')
    if layer_type not in ROI_LAYERS:
        raise KeyError(f"roi_layer type={layer_type!r} is unknown; known types: "
                       f"{sorted(ROI_LAYERS)}")
    if 'spatial_scale' in args:
        raise ValueError('roi_layer must not set spatial_scale: it is 1 / featmap_stride, '
                         'set featmap_strides on the RoI extractor instead')
    return ROI_LAYERS[layer_type](spatial_scale=spatial_scale, **args)
