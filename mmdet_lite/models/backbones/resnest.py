"""ResNeSt (Zhang et al., 2020): ResNetV1d whose 3x3 convs are split-attention convs.

``SplitAttentionConv2d`` (``conv``, ``bn0``, ``fc1``, ``bn1``, ``fc2``): a grouped conv gives
``radix`` feature maps per cardinal group; their sum, globally pooled, goes through two grouped
1x1 convs to one attention logit per (radix, channel); a softmax over radix (sigmoid when
``radix == 1``) weighs the maps, which are summed. With ``avg_down_stride`` a Bottleneck strides by
a 3x3 AvgPool (``avd_layer``) after the attention instead of in the conv.
"""
from typing import List, Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..builder import BACKBONES
from ..layers.conv import build_conv_layer
from ..layers.norm import build_norm_layer
from ..utils.res_layer import ResLayer
from .resnet_v1d import ResNetV1d
from .resnext import Bottleneck as _ResNeXtBottleneck
from .resnext import grouped_width


class RSoftmax(nn.Module):
    """Softmax over the radix of attention logits (N, groups * radix * C', 1, 1) laid out
    (groups, radix, C'), returned as (N, radix * groups * C') in (radix, groups, C') order;
    a sigmoid when ``radix == 1``."""

    def __init__(self, radix: int, groups: int):
        super().__init__()
        self.radix = radix
        self.groups = groups

    def forward(self, x: Tensor) -> Tensor:
        batch = x.size(0)
        if self.radix > 1:
            x = x.view(batch, self.groups, self.radix, -1).transpose(1, 2)
            return F.softmax(x, dim=1).reshape(batch, -1)
        return torch.sigmoid(x)


class SplitAttentionConv2d(nn.Module):
    """Split-attention conv: (N, in_channels, H, W) -> (N, channels, H_out, W_out).

    Args:
        in_channels / channels / kernel_size / stride / padding / dilation: as a conv.
        groups: cardinality.
        radix: feature maps per cardinal group.
        reduction_factor: the attention MLP has ``max(in_channels * radix // reduction_factor,
            32)`` hidden channels.
        conv_cfg / norm_cfg: layer configs; ``dcn`` (a DCN conv config) replaces ``conv_cfg``
            of the main conv unless it has ``fallback_on_stride=True``.
    """

    def __init__(self, in_channels: int, channels: int, kernel_size: int, stride: int = 1,
                 padding: int = 0, dilation: int = 1, groups: int = 1, radix: int = 2,
                 reduction_factor: int = 4, conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = None, dcn: Optional[dict] = None):
        super().__init__()
        norm_cfg = dict(type='BN') if norm_cfg is None else norm_cfg
        inter_channels = max(in_channels * radix // reduction_factor, 32)
        self.radix = radix
        self.groups = groups
        self.channels = channels
        self.with_dcn = dcn is not None
        self.dcn = dcn
        if dcn is not None and not dcn.get('fallback_on_stride', False):
            if conv_cfg is not None:
                raise ValueError(f'conv_cfg must be None when dcn is set, got {conv_cfg!r}')
            conv_cfg = {k: v for k, v in dcn.items() if k != 'fallback_on_stride'}
        self.conv = build_conv_layer(conv_cfg, in_channels, channels * radix, kernel_size,
                                     stride=stride, padding=padding, dilation=dilation,
                                     groups=groups * radix, bias=False)
        self.norm0_name, norm0 = build_norm_layer(norm_cfg, channels * radix, postfix=0)
        self.add_module(self.norm0_name, norm0)
        self.relu = nn.ReLU(inplace=True)
        self.fc1 = build_conv_layer(None, channels, inter_channels, 1, groups=self.groups)
        self.norm1_name, norm1 = build_norm_layer(norm_cfg, inter_channels, postfix=1)
        self.add_module(self.norm1_name, norm1)
        self.fc2 = build_conv_layer(None, inter_channels, channels * radix, 1, groups=self.groups)
        self.rsoftmax = RSoftmax(radix, groups)

    @property
    def norm0(self) -> nn.Module:
        return getattr(self, self.norm0_name)

    @property
    def norm1(self) -> nn.Module:
        return getattr(self, self.norm1_name)

    def forward(self, x: Tensor) -> Tensor:
        x = self.relu(self.norm0(self.conv(x)))
        batch = x.size(0)
        if self.radix > 1:
            splits = x.view(batch, self.radix, -1, *x.shape[2:])
            gap = splits.sum(dim=1)
        else:
            gap = x
        gap = self.relu(self.norm1(self.fc1(F.adaptive_avg_pool2d(gap, 1))))
        atten = self.rsoftmax(self.fc2(gap)).view(batch, -1, 1, 1)
        if self.radix > 1:
            out = torch.sum(atten.view(batch, self.radix, -1, 1, 1) * splits, dim=1)
        else:
            out = atten * x
        return out.contiguous()


class Bottleneck(_ResNeXtBottleneck):
    """ResNeSt Bottleneck: conv1 → split-attention ``conv2`` (no ``bn2``) → [``avd_layer``] →
    conv3.

    Args:
        radix / reduction_factor: of ``SplitAttentionConv2d``.
        avg_down_stride: stride with a 3x3 AvgPool after the attention (when the block strides).
        Others: as ResNeXt's Bottleneck.
    """

    expansion = 4
    _with_conv2 = False

    def __init__(self, inplanes: int, planes: int, groups: int = 1, base_width: int = 4,
                 base_channels: int = 64, radix: int = 2, reduction_factor: int = 4,
                 avg_down_stride: bool = True, stride: int = 1, dilation: int = 1,
                 downsample: Optional[nn.Module] = None, style: str = 'pytorch',
                 with_cp: bool = False, conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = None, dcn: Optional[dict] = None,
                 plugins: Optional[List[dict]] = None):
        super().__init__(inplanes, planes, groups=groups, base_width=base_width,
                         base_channels=base_channels, stride=stride, dilation=dilation,
                         downsample=downsample, style=style, with_cp=with_cp, conv_cfg=conv_cfg,
                         norm_cfg=norm_cfg, dcn=dcn, plugins=plugins)
        width = grouped_width(planes, groups, base_width, base_channels)
        self.avg_down_stride = avg_down_stride and self.conv2_stride > 1
        self.conv2 = SplitAttentionConv2d(
            width, width, kernel_size=3, stride=1 if self.avg_down_stride else self.conv2_stride,
            padding=dilation, dilation=dilation, groups=groups, radix=radix,
            reduction_factor=reduction_factor, conv_cfg=conv_cfg, norm_cfg=self.norm_cfg,
            dcn=dcn)
        if self.avg_down_stride:
            self.avd_layer = nn.AvgPool2d(3, self.conv2_stride, padding=1)

    def _middle(self, x: Tensor) -> Tensor:
        out = self.conv2(x)
        return self.avd_layer(out) if self.avg_down_stride else out


@BACKBONES.register_module()
class ResNeSt(ResNetV1d):
    """ResNeSt-50/101/152/200 (a ResNetV1d: deep stem, AvgPool shortcuts).

    Args:
        groups / base_width: ResNeXt cardinality and width.
        radix / reduction_factor: of the split-attention convs.
        avg_down_stride: see ``Bottleneck``.
        **kwargs: ResNet's other arguments (``depth``, ``stem_channels``, ``norm_cfg``, ...).
    """

    arch_settings = {
        50: (Bottleneck, (3, 4, 6, 3)),
        101: (Bottleneck, (3, 4, 23, 3)),
        152: (Bottleneck, (3, 8, 36, 3)),
        200: (Bottleneck, (3, 24, 36, 3)),
    }

    def __init__(self, groups: int = 1, base_width: int = 4, radix: int = 2,
                 reduction_factor: int = 4, avg_down_stride: bool = True, **kwargs):
        # make_res_layer (called by ResNet.__init__) reads these
        self.groups = groups
        self.base_width = base_width
        self.radix = radix
        self.reduction_factor = reduction_factor
        self.avg_down_stride = avg_down_stride
        super().__init__(**kwargs)

    def make_res_layer(self, **kwargs) -> nn.Module:
        return ResLayer(groups=self.groups, base_width=self.base_width,
                        base_channels=self.base_channels, radix=self.radix,
                        reduction_factor=self.reduction_factor,
                        avg_down_stride=self.avg_down_stride, **kwargs)
