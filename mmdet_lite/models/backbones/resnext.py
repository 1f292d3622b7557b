"""ResNeXt (Xie et al., 2017): ResNet whose 3x3 convs are grouped (``groups`` = cardinality).

A stage of width ``planes`` runs its Bottlenecks at ``floor(planes * base_width /
base_channels) * groups`` channels (``planes`` when ``groups == 1``), e.g. ResNeXt-101 32x4d:
``groups=32, base_width=4`` → 128 channels in the first stage. Names and shapes are 2.x's
(``layer1.0.conv2.weight`` of shape (width, width / groups, 3, 3)).
"""
import math
from typing import List, Optional

from torch import nn

from ..builder import BACKBONES
from ..utils.res_layer import ResLayer
from .resnet import Bottleneck as _Bottleneck
from .resnet import ResNet


def grouped_width(planes: int, groups: int, base_width: int, base_channels: int) -> int:
    """Channels of a ResNeXt Bottleneck's conv1/conv2 (``planes`` when ``groups == 1``)."""
    if groups == 1:
        return planes
    return math.floor(planes * (base_width / base_channels)) * groups


class Bottleneck(_Bottleneck):
    """ResNet's Bottleneck with a grouped 3x3 conv of ``grouped_width`` channels.

    Args:
        groups / base_width / base_channels: see ``grouped_width``; the rest are ResNet
            Bottleneck's arguments.
    """

    expansion = 4

    def __init__(self, inplanes: int, planes: int, groups: int = 1, base_width: int = 4,
                 base_channels: int = 64, stride: int = 1, dilation: int = 1,
                 downsample: Optional[nn.Module] = None, style: str = 'pytorch',
                 with_cp: bool = False, conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = None, dcn: Optional[dict] = None,
                 plugins: Optional[List[dict]] = None):
        super().__init__(inplanes, planes, stride=stride, dilation=dilation,
                         downsample=downsample, style=style, with_cp=with_cp, conv_cfg=conv_cfg,
                         norm_cfg=norm_cfg, dcn=dcn, plugins=plugins,
                         mid_channels=grouped_width(planes, groups, base_width, base_channels),
                         conv2_groups=groups)
        self.groups = groups
        self.base_width = base_width


@BACKBONES.register_module()
class ResNeXt(ResNet):
    """ResNeXt-50/101/152.

    Args:
        groups: cardinality of the grouped 3x3 convs.
        base_width: channels per group in the first stage (at ``base_channels=64``).
        **kwargs: ResNet's arguments (``depth``, ``num_stages``, ``out_indices``,
            ``frozen_stages``, ``norm_cfg``, ``dcn``/``stage_with_dcn``, ``plugins``, ``style``,
            ``init_cfg``, ...).
    """

    arch_settings = {
        50: (Bottleneck, (3, 4, 6, 3)),
        101: (Bottleneck, (3, 4, 23, 3)),
        152: (Bottleneck, (3, 8, 36, 3)),
    }

    def __init__(self, groups: int = 1, base_width: int = 4, **kwargs):
        # make_res_layer (called by ResNet.__init__) reads these
        self.groups = groups
        self.base_width = base_width
        super().__init__(**kwargs)

    def make_res_layer(self, **kwargs) -> nn.Module:
        return ResLayer(groups=self.groups, base_width=self.base_width,
                        base_channels=self.base_channels, **kwargs)
