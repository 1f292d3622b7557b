"""SSDNeck: SSD's extra layers and the L2 normalisation of its first feature map
(Liu et al., 2016), as mmdetection 2.x's.

Shapes: the L_in inputs pass through (the first one L2-normalised and scaled per channel when
``l2_norm_scale``); each extra level applies a 1x1 conv to half its channels and a
``last_kernel_size`` / 3x3 conv of its stride and padding to the previous output, so
``out_channels`` lists L_in + len(level_strides) channels.
"""
import copy
from typing import List, Optional, Sequence, Tuple, Union

import torch
from mmcv.cnn import DepthwiseSeparableConvModule
from mmengine.model import BaseModule
from torch import Tensor, nn

from ..builder import NECKS
from ..utils.conv_module import ConvModule
from ...core.utils.errors import ConfigValueError


class L2Norm(nn.Module):
    """Per-location L2 normalisation over channels times a learnt per-channel ``weight``
    (initialised to ``scale`` by ``SSDNeck``'s init_cfg)."""

    def __init__(self, n_dims: int, scale: float = 20., eps: float = 1e-10):
        super().__init__()
        self.n_dims = n_dims
        self.weight = nn.Parameter(torch.Tensor(self.n_dims))
        self.eps = eps
        self.scale = scale

    def forward(self, x: Tensor) -> Tensor:
        """(N, C, H, W) → (N, C, H, W), computed in float32."""
        x_float = x.float()
        norm = x_float.pow(2).sum(1, keepdim=True).sqrt() + self.eps
        return (self.weight[None, :, None, None].float().expand_as(x_float) * x_float
                / norm).type_as(x)


@NECKS.register_module()
class SSDNeck(BaseModule):
    """SSD's extra feature levels.

    Args:
        in_channels: channels of the input levels.
        out_channels: channels of every output level (the inputs' first).
        level_strides / level_paddings: of each extra level's second conv.
        l2_norm_scale: initial scale of the L2 norm of the first input; None: no L2 norm.
        last_kernel_size: kernel of the last extra level's second conv.
        use_depthwise: depth-wise separable second convs (SSDLite).
        conv_cfg / norm_cfg / act_cfg: of the extra convs.
        init_cfg: 2.x default: Xavier-uniform convs, unit BNs (plus the L2 norm's scale).
    """

    def __init__(self, in_channels: Sequence[int], out_channels: Sequence[int],
                 level_strides: Sequence[int], level_paddings: Sequence[int],
                 l2_norm_scale: Optional[float] = 20., last_kernel_size: int = 3,
                 use_depthwise: bool = False, conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = None, act_cfg: Optional[dict] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None):
        if act_cfg is None:
            act_cfg = dict(type='ReLU')
        if init_cfg is None:
            init_cfg = [dict(type='Xavier', distribution='uniform', layer='Conv2d'),
                        dict(type='Constant', val=1, layer='BatchNorm2d')]
        # 2.x appended to its (shared, default) list; this neck extends its own copy.
        init_cfg = copy.deepcopy(init_cfg)
        init_cfg = list(init_cfg) if isinstance(init_cfg, (list, tuple)) else [init_cfg]
        in_channels, out_channels = list(in_channels), list(out_channels)
        if len(out_channels) - len(in_channels) != len(level_strides) or \
                len(level_strides) != len(level_paddings) or len(level_strides) == 0:
            raise ConfigValueError(
                f'SSDNeck: out_channels {out_channels} must list in_channels {in_channels} '
                f'plus one entry per extra level; level_strides {list(level_strides)} and '
                f'level_paddings {list(level_paddings)} give one value per extra level')
        if in_channels != out_channels[:len(in_channels)]:
            raise ConfigValueError(f'SSDNeck: out_channels {out_channels} must start with '
                                   f'in_channels {in_channels} (the inputs pass through)')
        if l2_norm_scale:
            init_cfg.append(dict(type='Constant', val=l2_norm_scale,
                                 override=dict(name='l2_norm')))
        super().__init__(init_cfg)
        if l2_norm_scale:
            self.l2_norm = L2Norm(in_channels[0], l2_norm_scale)
        self.extra_layers = nn.ModuleList()
        extra_layer_channels = out_channels[len(in_channels):]
        second_conv = DepthwiseSeparableConvModule if use_depthwise else ConvModule
        for i, (out_channel, stride, padding) in enumerate(
                zip(extra_layer_channels, level_strides, level_paddings)):
            kernel_size = last_kernel_size if i == len(extra_layer_channels) - 1 else 3
            self.extra_layers.append(nn.Sequential(
                ConvModule(out_channels[len(in_channels) - 1 + i], out_channel // 2, 1,
                           conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg),
                second_conv(out_channel // 2, out_channel, kernel_size, stride=stride,
                            padding=padding, conv_cfg=conv_cfg, norm_cfg=norm_cfg,
                            act_cfg=act_cfg)))

    def forward(self, inputs: Sequence[Tensor]) -> Tuple[Tensor, ...]:
        """L_in maps → L_in + extra maps (N, out_channels[l], H_l, W_l)."""
        outs = list(inputs)
        if hasattr(self, 'l2_norm'):
            outs[0] = self.l2_norm(outs[0])
        feat = outs[-1]
        for layer in self.extra_layers:
            feat = layer(feat)
            outs.append(feat)
        return tuple(outs)
