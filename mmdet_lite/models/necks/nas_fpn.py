"""NAS-FPN (Ghiasi et al., 2019), as mmdetection 2.x's: P3-P7 merged ``stack_times`` times by the
searched cell graph (sum and global-pooling cells).

Shapes: backbone levels (N, in_channels[i], H_i, W_i) → 5 maps (N, out_channels, H_l, W_l),
P3..P7 (extra levels by 1x1 conv + 2x2 max-pool).
"""
from typing import List, Optional, Sequence, Tuple, Union

from mmengine.model import BaseModule
from torch import Tensor, nn

from ..builder import NECKS
from ..layers.merge_cells import GlobalPoolingCell, SumCell
from ..utils.conv_module import ConvModule
from ...core.utils.errors import ConfigValueError


@NECKS.register_module()
class NASFPN(BaseModule):
    """NASFPN.

    Args:
        in_channels: channels of each backbone output.
        out_channels: channels of every level.
        num_outs: output levels (the cell graph needs exactly 5: P3..P7).
        stack_times: repetitions of the cell graph.
        start_level / end_level: backbone levels used.
        add_extra_convs: unused (as in 2.x).
        norm_cfg: norm of the lateral, extra and cell output convs.
        init_cfg: Caffe2-Xavier convs, as 2.x.
    """

    def __init__(self, in_channels: Sequence[int], out_channels: int, num_outs: int,
                 stack_times: int, start_level: int = 0, end_level: int = -1,
                 add_extra_convs: bool = False, norm_cfg: Optional[dict] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = dict(type='Caffe2Xavier',
                                                                    layer='Conv2d')):
        super().__init__(init_cfg=init_cfg)
        if not isinstance(in_channels, (list, tuple)):
            raise TypeError(f'NASFPN in_channels must be a list, got {in_channels!r}')
        self.in_channels = list(in_channels)
        self.out_channels = out_channels
        self.num_ins = len(in_channels)
        self.num_outs = num_outs
        self.stack_times = stack_times
        self.norm_cfg = norm_cfg
        if end_level == -1 or end_level == self.num_ins - 1:
            self.backbone_end_level = self.num_ins
            if num_outs < self.num_ins - start_level:
                raise ConfigValueError(f'NASFPN num_outs={num_outs} is below the '
                                       f'{self.num_ins - start_level} backbone levels used')
        else:
            self.backbone_end_level = end_level + 1
            if not (end_level < self.num_ins and num_outs == end_level - start_level + 1):
                raise ConfigValueError(
                    f'NASFPN end_level={end_level} needs end_level < {self.num_ins} '
                    'and num_outs == end_level - start_level + 1')
        if num_outs != 5:
            raise ConfigValueError(f'NASFPN builds P3-P7: num_outs must be 5, got {num_outs}')
        self.start_level = start_level
        self.end_level = end_level
        self.add_extra_convs = add_extra_convs

        self.lateral_convs = nn.ModuleList(
            ConvModule(in_channels[i], out_channels, 1, norm_cfg=norm_cfg, act_cfg=None)
            for i in range(start_level, self.backbone_end_level))
        self.extra_downsamples = nn.ModuleList(
            nn.Sequential(ConvModule(out_channels, out_channels, 1, norm_cfg=norm_cfg,
                                     act_cfg=None), nn.MaxPool2d(2, 2))
            for _ in range(num_outs - self.backbone_end_level + start_level))

        def gp(with_out_conv: bool = True) -> GlobalPoolingCell:
            if not with_out_conv:
                return GlobalPoolingCell(with_out_conv=False)
            return GlobalPoolingCell(in_channels=out_channels, out_channels=out_channels,
                                     out_norm_cfg=norm_cfg)

        def add() -> SumCell:
            return SumCell(in_channels=out_channels, out_channels=out_channels,
                           out_norm_cfg=norm_cfg)

        self.fpn_stages = nn.ModuleList()
        for _ in range(stack_times):
            stage = nn.ModuleDict()
            stage['gp_64_4'] = gp()
            stage['sum_44_4'] = add()
            stage['sum_43_3'] = add()
            stage['sum_34_4'] = add()
            stage['gp_43_5'] = gp(with_out_conv=False)
            stage['sum_55_5'] = add()
            stage['gp_54_7'] = gp(with_out_conv=False)
            stage['sum_77_7'] = add()
            stage['gp_75_6'] = gp()
            self.fpn_stages.append(stage)

    def forward(self, inputs: Sequence[Tensor]) -> Tuple[Tensor, ...]:
        feats = [conv(inputs[i + self.start_level]) for i, conv in enumerate(self.lateral_convs)]
        for downsample in self.extra_downsamples:
            feats.append(downsample(feats[-1]))
        p3, p4, p5, p6, p7 = feats
        for stage in self.fpn_stages:
            p4_1 = stage['gp_64_4'](p6, p4, out_size=p4.shape[-2:])
            p4_2 = stage['sum_44_4'](p4_1, p4, out_size=p4.shape[-2:])
            p3 = stage['sum_43_3'](p4_2, p3, out_size=p3.shape[-2:])
            p4 = stage['sum_34_4'](p3, p4_2, out_size=p4.shape[-2:])
            p5_tmp = stage['gp_43_5'](p4, p3, out_size=p5.shape[-2:])
            p5 = stage['sum_55_5'](p5, p5_tmp, out_size=p5.shape[-2:])
            p7_tmp = stage['gp_54_7'](p5, p4_2, out_size=p7.shape[-2:])
            p7 = stage['sum_77_7'](p7, p7_tmp, out_size=p7.shape[-2:])
            p6 = stage['gp_75_6'](p7, p5, out_size=p6.shape[-2:])
        return p3, p4, p5, p6, p7
