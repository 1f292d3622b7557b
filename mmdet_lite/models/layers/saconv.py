"""Switchable Atrous Convolution (DetectoRS, Qiao et al., 2021), conv type ``'SAC'``, with mmcv's
names (``switch``, ``weight_diff``, ``pre_context``, ``post_context``, ``offset_s``/``offset_l``).

One AWS-standardised 3x3 weight is applied twice, at dilation ``d`` and at ``3d`` (the second time
plus ``weight_diff``); a per-pixel ``switch`` (a 1x1 conv on a 5x5 reflect-padded average of the
input) blends the two. Global context (1x1 convs on the global average) is added before and after.
With ``use_deform`` both branches are DCN v1 convs whose offsets come from ``offset_s`` /
``offset_l``. As mmcv, the branches add no bias even when the conv has one.
"""
from typing import Tuple, Union

import torch
import torch.nn.functional as F
from mmcv.cnn import ConvAWS2d
from mmengine.registry import MODELS as MMENGINE_MODELS
from torch import Tensor, nn

from .deform_conv import deform_conv2d

_IntPair = Union[int, Tuple[int, int]]


@MMENGINE_MODELS.register_module('SAC')
class SAConv2d(ConvAWS2d):
    """SAC: ``forward`` (N, C_in, H, W) -> (N, C_out, H_out, W_out).

    Args: as ``nn.Conv2d``, plus ``use_deform`` (deformable branches).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: _IntPair,
                 stride: _IntPair = 1, padding: _IntPair = 0, dilation: _IntPair = 1,
                 groups: int = 1, bias: bool = True, use_deform: bool = False):
        super().__init__(in_channels, out_channels, kernel_size, stride=stride, padding=padding,
                         dilation=dilation, groups=groups, bias=bias)
        self.use_deform = use_deform
        self.switch = nn.Conv2d(self.in_channels, 1, kernel_size=1, stride=stride, bias=True)
        self.weight_diff = nn.Parameter(torch.empty(self.weight.size()))
        self.pre_context = nn.Conv2d(self.in_channels, self.in_channels, kernel_size=1, bias=True)
        self.post_context = nn.Conv2d(self.out_channels, self.out_channels, kernel_size=1,
                                      bias=True)
        if self.use_deform:
            if self.kernel_size != (3, 3):
                raise ValueError(f'SAC with use_deform=True needs a 3x3 kernel (its offset convs '
                                 f'have 18 channels), got kernel_size={self.kernel_size}')
            self.offset_s = nn.Conv2d(self.in_channels, 18, kernel_size=3, padding=1,
                                      stride=stride, bias=True)
            self.offset_l = nn.Conv2d(self.in_channels, 18, kernel_size=3, padding=1,
                                      stride=stride, bias=True)
        self.init_weights()

    def init_weights(self) -> None:
        """Start as the short-dilation branch alone (switch = 1) with no context terms."""
        nn.init.zeros_(self.switch.weight)
        nn.init.ones_(self.switch.bias)
        nn.init.zeros_(self.weight_diff)
        for conv in (self.pre_context, self.post_context) + (
                (self.offset_s, self.offset_l) if self.use_deform else ()):
            nn.init.zeros_(conv.weight)
            nn.init.zeros_(conv.bias)

    def _branch(self, x: Tensor, weight: Tensor, scale: int, offset_conv: str,
                avg_x: Tensor) -> Tensor:
        padding = tuple(scale * p for p in self.padding)
        dilation = tuple(scale * d for d in self.dilation)
        if self.use_deform:
            return deform_conv2d(x, getattr(self, offset_conv)(avg_x), weight, self.stride,
                                 padding, dilation, self.groups, 1)
        return F.conv2d(x, weight, None, self.stride, padding, dilation, self.groups)

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.pre_context(F.adaptive_avg_pool2d(x, output_size=1)).expand_as(x)
        avg_x = F.avg_pool2d(F.pad(x, pad=(2, 2, 2, 2), mode='reflect'), kernel_size=5, stride=1)
        switch = self.switch(avg_x)
        weight = self._get_weight(self.weight)
        out_s = self._branch(x, weight, 1, 'offset_s', avg_x)
        out_l = self._branch(x, weight + self.weight_diff, 3, 'offset_l', avg_x)
        out = switch * out_s + (1 - switch) * out_l
        return out + self.post_context(F.adaptive_avg_pool2d(out, output_size=1)).expand_as(out)
