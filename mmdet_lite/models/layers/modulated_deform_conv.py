"""Modulated deformable convolution, DCN v2 (Zhu et al., 2019), with mmcv's names, on
``torchvision.ops.deform_conv2d``.

``ModulatedDeformConv2dPack`` (conv type ``'DCNv2'``) predicts offsets and masks with one
``conv_offset`` conv of ``deform_groups * 3 * kh * kw`` channels, zero-initialised (offsets 0,
masks sigmoid(0) = 0.5 at the start, as mmcv). Its output is split in three equal chunks
``o1, o2, m``: the offsets are ``cat(o1, o2)`` in the DCN v1 layout (``deform_conv.py``:
``[y0, x0, y1, x1, ...]`` per deformable group) and the mask is ``sigmoid(m)``,
(N, deform_groups * kh * kw, H_out, W_out), one weight per kernel tap.
"""
import math
from typing import Optional, Tuple, Union

import torch
from mmengine.registry import MODELS as MMENGINE_MODELS
from torch import Tensor, nn
from torch.nn.modules.utils import _pair
from torchvision.ops import deform_conv2d as tv_deform_conv2d

from .deform_conv import check_deform_inputs, resolve_deform_groups

_IntPair = Union[int, Tuple[int, int]]


def modulated_deform_conv2d(input: Tensor, offset: Tensor, mask: Tensor, weight: Tensor,
                            bias: Optional[Tensor] = None, stride: _IntPair = 1,
                            padding: _IntPair = 0, dilation: _IntPair = 1, groups: int = 1,
                            deform_groups: int = 1) -> Tensor:
    """mmcv's ``modulated_deform_conv2d`` call, computed by ``torchvision.ops.deform_conv2d``.

    Args:
        input: (N, C_in, H, W).
        offset: (N, deform_groups * 2 * kh * kw, H_out, W_out), ``[y0, x0, y1, x1, ...]``.
        mask: (N, deform_groups * kh * kw, H_out, W_out), multiplies each sampled value.
        weight: (C_out, C_in / groups, kh, kw); bias: (C_out,) or None.

    Returns:
        (N, C_out, H_out, W_out).
    """
    check_deform_inputs(input, offset, weight, deform_groups, mask)
    if input.size(1) != weight.size(1) * groups:
        raise ValueError(f'modulated_deform_conv2d: input has {input.size(1)} channels but '
                         f'weight {tuple(weight.shape)} with groups={groups} expects '
                         f'{weight.size(1) * groups}')
    input = input.type_as(offset)
    return tv_deform_conv2d(input, offset, weight.type_as(input),
                            None if bias is None else bias.type_as(input), _pair(stride),
                            _pair(padding), _pair(dilation), mask=mask.type_as(input))


class ModulatedDeformConv2d(nn.Module):
    """DCN v2 taking offsets and mask as inputs: ``forward(x, offset, mask)``.

    Args: as ``nn.Conv2d`` plus ``deform_groups`` (channel groups with their own offsets and
    masks; ``deformable_groups`` is its deprecated mmcv name). ``bias`` defaults to True, as
    mmcv's.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: _IntPair,
                 stride: _IntPair = 1, padding: _IntPair = 0, dilation: _IntPair = 1,
                 groups: int = 1, deform_groups: int = 1, bias: Union[bool, str] = True,
                 deformable_groups: Optional[int] = None):
        super().__init__()
        deform_groups = resolve_deform_groups(deform_groups, deformable_groups)
        if in_channels % groups or out_channels % groups:
            raise ValueError(f'ModulatedDeformConv2d: in_channels={in_channels} and '
                             f'out_channels={out_channels} must both be divisible by '
                             f'groups={groups}')
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = _pair(kernel_size)
        self.stride = _pair(stride)
        self.padding = _pair(padding)
        self.dilation = _pair(dilation)
        self.groups = groups
        self.deform_groups = deform_groups
        self.transposed = False
        self.output_padding = (0, )
        self.weight = nn.Parameter(
            torch.empty(out_channels, in_channels // groups, *self.kernel_size))
        if bias:
            self.bias = nn.Parameter(torch.empty(out_channels))
        else:
            self.register_parameter('bias', None)
        self.init_weights()

    def init_weights(self) -> None:
        """Uniform(+-1/sqrt(C_in * kh * kw)) weight and zero bias, as mmcv."""
        bound = 1. / math.sqrt(self.in_channels * self.kernel_size[0] * self.kernel_size[1])
        nn.init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    def forward(self, x: Tensor, offset: Tensor, mask: Tensor) -> Tensor:
        """(N, C_in, H, W) with offsets and mask (module docstring) -> (N, C_out, H_out,
        W_out)."""
        return modulated_deform_conv2d(x, offset, mask, self.weight, self.bias, self.stride,
                                       self.padding, self.dilation, self.groups,
                                       self.deform_groups)

    def extra_repr(self) -> str:
        return (f'{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, '
                f'stride={self.stride}, padding={self.padding}, dilation={self.dilation}, '
                f'groups={self.groups}, deform_groups={self.deform_groups}, '
                f'bias={self.bias is not None}')


@MMENGINE_MODELS.register_module('DCNv2')
class ModulatedDeformConv2dPack(ModulatedDeformConv2d):
    """DCN v2 as a drop-in conv (conv type ``'DCNv2'``): ``forward(x)``; ``conv_offset``
    predicts offsets and masks from ``x`` (module docstring)."""

    _version = 2

    def __init__(self, in_channels: int, out_channels: int, kernel_size: _IntPair,
                 stride: _IntPair = 1, padding: _IntPair = 0, dilation: _IntPair = 1,
                 groups: int = 1, deform_groups: int = 1, bias: Union[bool, str] = True,
                 deformable_groups: Optional[int] = None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, resolve_deform_groups(deform_groups, deformable_groups), bias)
        self.conv_offset = nn.Conv2d(
            self.in_channels, self.deform_groups * 3 * self.kernel_size[0] * self.kernel_size[1],
            kernel_size=self.kernel_size, stride=self.stride, padding=self.padding,
            dilation=self.dilation, bias=True)
        self.init_weights()

    def init_weights(self) -> None:
        """The conv's own init plus zero offsets/masks-logits."""
        super().init_weights()
        if hasattr(self, 'conv_offset'):
            nn.init.zeros_(self.conv_offset.weight)
            nn.init.zeros_(self.conv_offset.bias)

    def forward(self, x: Tensor) -> Tensor:  # type: ignore[override]
        """(N, C_in, H, W) -> (N, C_out, H_out, W_out)."""
        o1, o2, mask = torch.chunk(self.conv_offset(x), 3, dim=1)
        offset = torch.cat((o1, o2), dim=1)
        return modulated_deform_conv2d(x, offset, torch.sigmoid(mask), self.weight, self.bias,
                                       self.stride, self.padding, self.dilation, self.groups,
                                       self.deform_groups)
