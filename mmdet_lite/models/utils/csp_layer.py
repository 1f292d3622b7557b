"""Cross Stage Partial layer (Wang et al., 2020) and the Darknet bottleneck it stacks, as in
mmdetection 2.x (used by ``CSPDarknet`` and ``YOLOXPAFPN``).

Shapes: (N, in_channels, H, W) → (N, out_channels, H, W).
"""
from typing import Optional

import torch
from mmcv.cnn import DepthwiseSeparableConvModule
from torch import Tensor, nn

from .conv_module import ConvModule

_YOLOX_BN = dict(type='BN', momentum=0.03, eps=0.001)


class DarknetBottleneck(nn.Module):
    """1x1 conv to ``out_channels * expansion``, 3x3 conv (depth-wise separable with
    ``use_depthwise``) back to ``out_channels``, plus the input when ``add_identity`` and the
    widths match. Every conv is conv + norm + activation."""

    def __init__(self, in_channels: int, out_channels: int, expansion: float = 0.5,
                 add_identity: bool = True, use_depthwise: bool = False,
                 conv_cfg: Optional[dict] = None, norm_cfg: Optional[dict] = None,
                 act_cfg: Optional[dict] = None):
        super().__init__()
        norm_cfg = dict(_YOLOX_BN) if norm_cfg is None else norm_cfg
        act_cfg = dict(type='Swish') if act_cfg is None else act_cfg
        hidden = int(out_channels * expansion)
        conv = DepthwiseSeparableConvModule if use_depthwise else ConvModule
        self.conv1 = ConvModule(in_channels, hidden, 1, conv_cfg=conv_cfg, norm_cfg=norm_cfg,
                                act_cfg=act_cfg)
        self.conv2 = conv(hidden, out_channels, 3, stride=1, padding=1, conv_cfg=conv_cfg,
                          norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.add_identity = add_identity and in_channels == out_channels

    def forward(self, x: Tensor) -> Tensor:
        out = self.conv2(self.conv1(x))
        return out + x if self.add_identity else out


class CSPLayer(nn.Module):
    """Two 1x1 branches of ``out_channels * expand_ratio`` channels: ``main_conv`` followed by
    ``num_blocks`` Darknet bottlenecks, and ``short_conv``; concatenated (main first) and fused
    by the 1x1 ``final_conv``."""

    def __init__(self, in_channels: int, out_channels: int, expand_ratio: float = 0.5,
                 num_blocks: int = 1, add_identity: bool = True, use_depthwise: bool = False,
                 conv_cfg: Optional[dict] = None, norm_cfg: Optional[dict] = None,
                 act_cfg: Optional[dict] = None):
        super().__init__()
        norm_cfg = dict(_YOLOX_BN) if norm_cfg is None else norm_cfg
        act_cfg = dict(type='Swish') if act_cfg is None else act_cfg
        mid = int(out_channels * expand_ratio)
        layer = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.main_conv = ConvModule(in_channels, mid, 1, **layer)
        self.short_conv = ConvModule(in_channels, mid, 1, **layer)
        self.final_conv = ConvModule(2 * mid, out_channels, 1, **layer)
        self.blocks = nn.Sequential(*[
            DarknetBottleneck(mid, mid, 1.0, add_identity, use_depthwise, **layer)
            for _ in range(num_blocks)])

    def forward(self, x: Tensor) -> Tensor:
        main = self.blocks(self.main_conv(x))
        return self.final_conv(torch.cat((main, self.short_conv(x)), dim=1))
