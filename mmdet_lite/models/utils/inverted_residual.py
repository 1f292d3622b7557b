"""Inverted residual block (MobileNetV2 / EfficientNet), as mmdetection 2.x's.

Shapes: (N, in_channels, H, W) → (N, out_channels, H / stride, W / stride).
"""
from typing import Optional

import torch.utils.checkpoint as cp
from torch import Tensor, nn

from ..layers.transformer import DropPath
from .conv_module import ConvModule
from .se_layer import SELayer
from ...core.utils.errors import ConfigTypeError, ConfigValueError


class InvertedResidual(nn.Module):
    """[1x1 expand conv] → k x k depth-wise conv → [SE] → 1x1 linear conv (no activation),
    plus the input (through stochastic depth) when the stride is 1 and the widths match.

    Args:
        in_channels / out_channels: block widths.
        mid_channels: width of the depth-wise conv (``in_channels`` without expand conv).
        kernel_size / stride: of the depth-wise conv (stride 1 or 2).
        se_cfg: ``SELayer`` arguments, or ``None`` for no SE.
        with_expand_conv: use the 1x1 expand conv.
        conv_cfg / norm_cfg / act_cfg: layer configs.
        drop_path_rate: stochastic depth on the residual branch.
        with_cp: gradient checkpointing.
    """

    def __init__(self, in_channels: int, out_channels: int, mid_channels: int,
                 kernel_size: int = 3, stride: int = 1, se_cfg: Optional[dict] = None,
                 with_expand_conv: bool = True, conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = None, act_cfg: Optional[dict] = None,
                 drop_path_rate: float = 0., with_cp: bool = False):
        super().__init__()
        if stride not in (1, 2):
            raise ConfigValueError(f'InvertedResidual stride must be 1 or 2, got {stride}')
        if not with_expand_conv and mid_channels != in_channels:
            raise ConfigValueError(f'without expand conv mid_channels ({mid_channels}) must equal '
                                   f'in_channels ({in_channels})')
        norm_cfg = dict(type='BN') if norm_cfg is None else norm_cfg
        act_cfg = dict(type='ReLU') if act_cfg is None else act_cfg
        self.with_res_shortcut = stride == 1 and in_channels == out_channels
        self.with_cp = with_cp
        self.drop_path = DropPath(drop_path_rate) if drop_path_rate > 0 else nn.Identity()
        if se_cfg is not None and not isinstance(se_cfg, dict):
            raise ConfigTypeError(f'InvertedResidual se_cfg must be None or a dict of SELayer '
                                  f'arguments, got {se_cfg!r}')
        self.with_se = se_cfg is not None
        self.with_expand_conv = with_expand_conv
        layer = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg)
        if with_expand_conv:
            self.expand_conv = ConvModule(in_channels, mid_channels, 1, stride=1, padding=0,
                                          act_cfg=act_cfg, **layer)
        self.depthwise_conv = ConvModule(mid_channels, mid_channels, kernel_size, stride=stride,
                                         padding=kernel_size // 2, groups=mid_channels,
                                         act_cfg=act_cfg, **layer)
        if self.with_se:
            self.se = SELayer(**se_cfg)
        self.linear_conv = ConvModule(mid_channels, out_channels, 1, stride=1, padding=0,
                                      act_cfg=None, **layer)

    def _inner(self, x: Tensor) -> Tensor:
        out = self.expand_conv(x) if self.with_expand_conv else x
        out = self.depthwise_conv(out)
        if self.with_se:
            out = self.se(out)
        out = self.linear_conv(out)
        return x + self.drop_path(out) if self.with_res_shortcut else out

    def forward(self, x: Tensor) -> Tensor:
        if self.with_cp and x.requires_grad:
            return cp.checkpoint(self._inner, x, use_reentrant=False)
        return self._inner(x)
