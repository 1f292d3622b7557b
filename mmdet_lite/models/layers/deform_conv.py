"""Deformable convolution v1 (Dai et al., 2017) with mmcv's names, on ``torchvision.ops``.

``DeformConv2d`` takes the offsets as an input; ``DeformConv2dPack`` (conv type ``'DCN'``) predicts
them with its own ``conv_offset`` conv, zero-initialised so that it starts as a plain conv. Names
and offset layout are mmcv 1.x's, so mmdetection 2.x checkpoints load unchanged:

* parameters: ``weight`` (C_out, C_in / groups, kh, kw), no bias; ``conv_offset.weight`` /
  ``conv_offset.bias`` with ``deform_groups * 2 * kh * kw`` output channels.
* offsets (N, deform_groups * 2 * kh * kw, H_out, W_out): per deformable group, kernel tap ``k``
  (row-major over the kh x kw window) has its (dy, dx) in channels ``2k`` and ``2k + 1``, i.e.
  ``[y0, x0, y1, x1, ...]``. That is also ``torchvision.ops.deform_conv2d``'s layout, so no
  reordering is needed; both sample bilinearly with zeros outside the feature map.
"""
from typing import Optional, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.registry import MODELS as MMENGINE_MODELS
from torch import Tensor, nn
from torch.nn.modules.utils import _pair
from torchvision.ops import deform_conv2d as tv_deform_conv2d

_IntPair = Union[int, Tuple[int, int]]


def check_deform_inputs(x: Tensor, offset: Tensor, weight: Tensor, deform_groups: int,
                        mask: Union[Tensor, None] = None) -> None:
    """Raise a ``ValueError`` that names the bad tensor when the shapes do not fit together."""
    if x.dim() != 4:
        raise ValueError(f'deformable conv input must be (N, C, H, W), got {tuple(x.shape)}')
    kh, kw = weight.shape[-2:]
    want = deform_groups * 2 * kh * kw
    if offset.dim() != 4 or offset.size(1) != want or offset.size(0) != x.size(0):
        raise ValueError(f'deformable conv offset must be (N={x.size(0)}, deform_groups * 2 * kh '
                         f'* kw = {want}, H_out, W_out), got {tuple(offset.shape)}')
    if mask is not None and (mask.dim() != 4 or mask.size(1) != want // 2
                             or mask.shape[-2:] != offset.shape[-2:]):
        raise ValueError(f'modulated deformable conv mask must be (N, deform_groups * kh * kw = '
                         f'{want // 2}, {offset.size(2)}, {offset.size(3)}), got '
                         f'{tuple(mask.shape)}')


def deform_conv2d(input: Tensor, offset: Tensor, weight: Tensor, stride: _IntPair = 1,
                  padding: _IntPair = 0, dilation: _IntPair = 1, groups: int = 1,
                  deform_groups: int = 1, bias: bool = False, im2col_step: int = 32) -> Tensor:
    """mmcv's ``deform_conv2d`` call, computed by ``torchvision.ops.deform_conv2d``.

    Args:
        input: (N, C_in, H, W).
        offset: (N, deform_groups * 2 * kh * kw, H_out, W_out), mmcv layout (module docstring).
        weight: (C_out, C_in / groups, kh, kw).
        bias: must be False (mmcv's v1 kernel has no bias).
        im2col_step: accepted for mmcv compatibility; torchvision picks its own batching.

    Returns:
        (N, C_out, H_out, W_out).
    """
    if bias:
        raise ValueError('deform_conv2d (DCN v1) has no bias term, as in mmcv; pass bias=False '
                         'or use modulated_deform_conv2d (DCNv2), which has one')
    check_deform_inputs(input, offset, weight, deform_groups)
    if input.size(1) != weight.size(1) * groups:
        raise ValueError(f'deform_conv2d: input has {input.size(1)} channels but weight '
                         f'{tuple(weight.shape)} with groups={groups} expects '
                         f'{weight.size(1) * groups}')
    input = input.type_as(offset)
    return tv_deform_conv2d(input, offset, weight.type_as(input), None, _pair(stride),
                            _pair(padding), _pair(dilation))


def resolve_deform_groups(deform_groups: int, deformable_groups: Optional[int]) -> int:
    """``deformable_groups`` is mmcv's deprecated name of ``deform_groups`` (still in some 2.x
    configs); give at most one of them a non-default value."""
    if deformable_groups is None:
        return deform_groups
    if deform_groups != 1 and deform_groups != deformable_groups:
        raise ValueError(f'deform_groups={deform_groups} and its old name '
                         f'deformable_groups={deformable_groups} disagree; give only deform_groups')
    return deformable_groups


class DeformConv2d(nn.Module):
    """Deformable conv v1 taking the offsets as input: ``forward(x, offset)``.

    Args:
        in_channels / out_channels / kernel_size / stride / padding / dilation / groups: as
            ``nn.Conv2d``.
        deform_groups: channel groups that each get their own offsets (``deformable_groups``:
            its deprecated mmcv name).
        bias: must be False (as mmcv).
        im2col_step: accepted for mmcv compatibility, unused.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: _IntPair,
                 stride: _IntPair = 1, padding: _IntPair = 0, dilation: _IntPair = 1,
                 groups: int = 1, deform_groups: int = 1, bias: bool = False,
                 im2col_step: int = 32, deformable_groups: Optional[int] = None):
        super().__init__()
        deform_groups = resolve_deform_groups(deform_groups, deformable_groups)
        if bias:
            raise ValueError(f'bias={bias} is not supported by DeformConv2d (mmcv has none); '
                             "use conv type 'DCNv2' for a deformable conv with bias")
        if in_channels % groups or out_channels % groups:
            raise ValueError(f'DeformConv2d: in_channels={in_channels} and '
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
        self.im2col_step = im2col_step
        self.transposed = False
        self.output_padding = (0, )
        self.weight = nn.Parameter(
            torch.empty(out_channels, in_channels // groups, *self.kernel_size))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.kaiming_uniform_(self.weight, nonlinearity='relu')

    def forward(self, x: Tensor, offset: Tensor) -> Tensor:
        """(N, C_in, H, W), (N, deform_groups * 2 * kh * kw, H_out, W_out) -> (N, C_out, H_out,
        W_out)."""
        kh, kw = self.kernel_size
        # As mmcv: an input smaller than the kernel is zero-padded at the bottom/right, and the
        # output cropped back by the same amount.
        pad_h, pad_w = max(kh - x.size(2), 0), max(kw - x.size(3), 0)
        if pad_h or pad_w:
            x = F.pad(x, (0, pad_w, 0, pad_h))
            offset = F.pad(offset, (0, pad_w, 0, pad_h))
        out = deform_conv2d(x, offset, self.weight, self.stride, self.padding, self.dilation,
                            self.groups, self.deform_groups)
        if pad_h or pad_w:
            out = out[:, :, :out.size(2) - pad_h, :out.size(3) - pad_w].contiguous()
        return out

    def extra_repr(self) -> str:
        return (f'{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, '
                f'stride={self.stride}, padding={self.padding}, dilation={self.dilation}, '
                f'groups={self.groups}, deform_groups={self.deform_groups}, bias=False')


@MMENGINE_MODELS.register_module('DCN')
class DeformConv2dPack(DeformConv2d):
    """Deformable conv v1 as a drop-in conv (conv type ``'DCN'``): ``forward(x)``.

    ``conv_offset`` (same kernel/stride/padding/dilation as the deformable conv) predicts the
    (N, deform_groups * 2 * kh * kw, H_out, W_out) offsets from ``x``; it starts at zero.
    """

    _version = 2

    def __init__(self, in_channels: int, out_channels: int, kernel_size: _IntPair,
                 stride: _IntPair = 1, padding: _IntPair = 0, dilation: _IntPair = 1,
                 groups: int = 1, deform_groups: int = 1, bias: bool = False,
                 im2col_step: int = 32, deformable_groups: Optional[int] = None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, resolve_deform_groups(deform_groups, deformable_groups), bias,
                         im2col_step)
        self.conv_offset = nn.Conv2d(
            self.in_channels, self.deform_groups * 2 * self.kernel_size[0] * self.kernel_size[1],
            kernel_size=self.kernel_size, stride=self.stride, padding=self.padding,
            dilation=self.dilation, bias=True)
        self.init_offset()

    def init_offset(self) -> None:
        nn.init.zeros_(self.conv_offset.weight)
        nn.init.zeros_(self.conv_offset.bias)

    def init_weights(self) -> None:
        """Zero offsets (called after a parent's generic conv init, which would randomise them)."""
        self.init_offset()

    def forward(self, x: Tensor) -> Tensor:  # type: ignore[override]
        """(N, C_in, H, W) -> (N, C_out, H_out, W_out)."""
        offset = self.conv_offset(x)
        return deform_conv2d(x, offset, self.weight, self.stride, self.padding, self.dilation,
                             self.groups, self.deform_groups)
