"""NAS-FCOS's FPN (Wang et al., 2020), as mmdetection 2.x's: the searched graph of
concatenation cells over the adapted backbone levels.

Shapes: backbone levels (N, in_channels[i], H_i, W_i) → ``num_outs`` maps (N, out_channels, ...):
P3-P5 at the sizes of inputs 1-3, then stride-2 extra levels.
"""
from typing import Optional, Sequence, Tuple

import torch.nn.functional as F
from mmengine.model import BaseModule
from mmengine.model.weight_init import caffe2_xavier_init
from torch import Tensor, nn

from ..builder import NECKS
from ..layers.merge_cells import ConcatCell
from ..utils.conv_module import ConvModule
from ...core.utils.errors import ConfigValueError


@NECKS.register_module()
class NASFCOS_FPN(BaseModule):
    """NASFCOS_FPN.

    Args:
        in_channels: channels of each backbone output.
        out_channels: channels of every level.
        num_outs: output levels.
        start_level / end_level: backbone levels used (the graph reads adapted levels 0-3).
        add_extra_convs: unused (as in 2.x).
        conv_cfg / norm_cfg: input convs of the cells.
        init_cfg: must be None (Caffe2-Xavier convs, as 2.x).
    """

    def __init__(self, in_channels: Sequence[int], out_channels: int, num_outs: int,
                 start_level: int = 1, end_level: int = -1, add_extra_convs: bool = False,
                 conv_cfg: Optional[dict] = None, norm_cfg: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        if init_cfg is not None:
            raise ValueError('NASFCOS_FPN initialises its own layers; init_cfg must be None')
        super().__init__(init_cfg=init_cfg)
        if not isinstance(in_channels, (list, tuple)):
            raise TypeError(f'NASFCOS_FPN in_channels must be a list, got {in_channels!r}')
        self.in_channels = list(in_channels)
        self.out_channels = out_channels
        self.num_ins = len(in_channels)
        self.num_outs = num_outs
        self.norm_cfg = norm_cfg
        self.conv_cfg = conv_cfg
        if end_level == -1 or end_level == self.num_ins - 1:
            self.backbone_end_level = self.num_ins
            if num_outs < self.num_ins - start_level:
                raise ValueError(f'NASFCOS_FPN num_outs={num_outs} is below the '
                                 f'{self.num_ins - start_level} backbone levels used')
        else:
            self.backbone_end_level = end_level + 1
            if not (end_level < self.num_ins and num_outs == end_level - start_level + 1):
                raise ConfigValueError(f'NASFCOS_FPN end_level={end_level} needs end_level < '
                                       f'{self.num_ins} and num_outs == end_level - start_level + 1')
        self.start_level = start_level
        self.end_level = end_level
        self.add_extra_convs = add_extra_convs

        self.adapt_convs = nn.ModuleList(
            ConvModule(in_channels[i], out_channels, 1, stride=1, padding=0, bias=False,
                       norm_cfg=dict(type='BN'), act_cfg=dict(type='ReLU', inplace=False))
            for i in range(start_level, self.backbone_end_level))

        def concat_cell(with_input1_conv: bool, with_input2_conv: bool) -> ConcatCell:
            return ConcatCell(
                in_channels=out_channels, out_channels=out_channels, with_out_conv=True,
                out_conv_cfg=dict(kernel_size=1, padding=0, bias=False, groups=out_channels),
                out_norm_cfg=dict(type='BN'), out_conv_order=('norm', 'act', 'conv'),
                with_input1_conv=with_input1_conv, with_input2_conv=with_input2_conv,
                input_conv_cfg=conv_cfg, input_norm_cfg=norm_cfg, upsample_mode='nearest')

        # cell 'cIJ' merges feats[I] and feats[J] into a new feats entry (the searched graph)
        self.fpn = nn.ModuleDict()
        self.fpn['c22_1'] = concat_cell(True, True)
        self.fpn['c22_2'] = concat_cell(True, True)
        self.fpn['c32'] = concat_cell(True, False)
        self.fpn['c02'] = concat_cell(True, False)
        self.fpn['c42'] = concat_cell(True, True)
        self.fpn['c36'] = concat_cell(True, True)
        self.fpn['c61'] = concat_cell(True, True)
        self.extra_downsamples = nn.ModuleList(
            ConvModule(out_channels, out_channels, 3, stride=2, padding=1,
                       act_cfg=None if i == 0 else dict(type='ReLU', inplace=False),
                       order=('act', 'norm', 'conv'))
            for i in range(num_outs - self.backbone_end_level + start_level))

    def init_weights(self) -> None:
        """ConvModules' own init, then Caffe2-Xavier for the adapt and extra convs (as 2.x)."""
        super().init_weights()
        for modules in (self.adapt_convs.modules(), self.extra_downsamples.modules()):
            for m in modules:
                if isinstance(m, nn.Conv2d):
                    caffe2_xavier_init(m)
        self._is_init = True

    def forward(self, inputs: Sequence[Tensor]) -> Tuple[Tensor, ...]:
        feats = [conv(inputs[i + self.start_level]) for i, conv in enumerate(self.adapt_convs)]
        for name, cell in self.fpn.items():
            feats.append(cell(feats[int(name[1])], feats[int(name[2])]))
        outs = []
        for idx, input_idx in zip((9, 8, 7), (1, 2, 3)):  # P3, P4, P5
            top = F.interpolate(feats[5], size=feats[idx].shape[2:], mode='bilinear',
                                align_corners=False)
            outs.append(F.interpolate(feats[idx] + top, size=inputs[input_idx].shape[2:],
                                      mode='bilinear', align_corners=False))
        for downsample in self.extra_downsamples:
            outs.append(downsample(outs[-1]))
        return tuple(outs)
