"""DetectoRS's ResNeXt: ``DetectoRS_ResNet`` with ResNeXt's grouped Bottlenecks (``groups``,
``base_width``), so SAC / DCN / plain 3x3 convs are grouped."""
from typing import List, Optional

from torch import nn

from ..builder import BACKBONES
from .detectors_resnet import Bottleneck as _Bottleneck
from .detectors_resnet import DetectoRS_ResNet
from .resnext import grouped_width


class Bottleneck(_Bottleneck):
    """DetectoRS Bottleneck at ResNeXt's grouped width (see ``resnext.grouped_width``)."""

    expansion = 4

    def __init__(self, inplanes: int, planes: int, groups: int = 1, base_width: int = 4,
                 base_channels: int = 64, rfp_inplanes: Optional[int] = None,
                 sac: Optional[dict] = None, stride: int = 1, dilation: int = 1,
                 downsample: Optional[nn.Module] = None, style: str = 'pytorch',
                 with_cp: bool = False, conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = None, dcn: Optional[dict] = None,
                 plugins: Optional[List[dict]] = None):
        super().__init__(inplanes, planes, rfp_inplanes=rfp_inplanes, sac=sac, stride=stride,
                         dilation=dilation, downsample=downsample, style=style, with_cp=with_cp,
                         conv_cfg=conv_cfg, norm_cfg=norm_cfg, dcn=dcn, plugins=plugins,
                         mid_channels=grouped_width(planes, groups, base_width, base_channels),
                         conv2_groups=groups)


@BACKBONES.register_module()
class DetectoRS_ResNeXt(DetectoRS_ResNet):
    """DetectoRS_ResNet with ``groups`` / ``base_width`` (ResNeXt); other arguments as
    DetectoRS_ResNet's."""

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
        return super().make_res_layer(groups=self.groups, base_width=self.base_width,
                                      base_channels=self.base_channels, **kwargs)
