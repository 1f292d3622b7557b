"""Path Aggregation Network (Liu et al., 2018): FPN plus a bottom-up path, as mmdetection 2.x's.

Shapes: as :class:`FPN` (``num_outs`` maps (N, out_channels, H_l, W_l)).
"""
from typing import List, Optional, Sequence, Tuple, Union

from torch import Tensor, nn

from ..builder import NECKS
from ..utils.conv_module import ConvModule
from .fpn import FPN


@NECKS.register_module()
class PAFPN(FPN):
    """FPN outputs, then from the finest up: each level += a stride-2 3x3 conv of the level
    below, and levels 1.. go through a 3x3 ``pafpn_convs`` conv. Extra levels as FPN's, made from
    these outputs. Arguments as :class:`FPN` (no ``upsample_cfg``: nearest to the exact size)."""

    def __init__(self, in_channels: Sequence[int], out_channels: int, num_outs: int,
                 start_level: int = 0, end_level: int = -1,
                 add_extra_convs: Union[bool, str] = False,
                 relu_before_extra_convs: bool = False, no_norm_on_lateral: bool = False,
                 conv_cfg: Optional[dict] = None, norm_cfg: Optional[dict] = None,
                 act_cfg: Optional[dict] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = dict(
                     type='Xavier', layer='Conv2d', distribution='uniform')):
        super().__init__(in_channels, out_channels, num_outs, start_level=start_level,
                         end_level=end_level, add_extra_convs=add_extra_convs,
                         relu_before_extra_convs=relu_before_extra_convs,
                         no_norm_on_lateral=no_norm_on_lateral, conv_cfg=conv_cfg,
                         norm_cfg=norm_cfg, act_cfg=act_cfg, init_cfg=init_cfg)
        layer = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg, inplace=False)
        self.downsample_convs = nn.ModuleList()
        self.pafpn_convs = nn.ModuleList()
        for _ in range(self.start_level + 1, self.backbone_end_level):
            self.downsample_convs.append(ConvModule(out_channels, out_channels, 3, stride=2,
                                                    padding=1, **layer))
            self.pafpn_convs.append(ConvModule(out_channels, out_channels, 3, padding=1, **layer))

    def forward(self, inputs: Sequence[Tensor]) -> Tuple[Tensor, ...]:
        laterals = self._top_down(inputs)
        inter = [self.fpn_convs[i](lateral) for i, lateral in enumerate(laterals)]
        for i in range(len(laterals) - 1):
            inter[i + 1] = inter[i + 1] + self.downsample_convs[i](inter[i])
        outs = [inter[0]] + [conv(x) for conv, x in zip(self.pafpn_convs, inter[1:])]
        return tuple(self._add_extra_levels(inputs, laterals, outs))
