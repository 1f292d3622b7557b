"""HRFPN (Sun et al., 2019): HRNet's branches upsampled to stride 4, concatenated, reduced by a
1x1 conv, then pooled into a pyramid with a 3x3 conv per level.

Shapes: input ``B`` maps (N, in_channels[b], H / 2**b, W / 2**b); output ``num_outs`` maps
(N, out_channels, H / 2**l / stride, W / 2**l / stride), l = 0 .. num_outs - 1.
"""
from typing import List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
import torch.utils.checkpoint as cp
from mmengine.model import BaseModule
from torch import Tensor, nn

from ..builder import NECKS
from ..utils.conv_module import ConvModule


@NECKS.register_module()
class HRFPN(BaseModule):
    """HRFPN, as mmdetection 2.x's.

    Args:
        in_channels: channels of each HRNet branch.
        out_channels: channels of every output level.
        num_outs: output levels, each pooled by 2 more than the previous.
        pooling_type: 'AVG' or 'MAX'.
        conv_cfg: conv layer config of every conv.
        norm_cfg: accepted as in 2.x, which never applies it: the convs have a bias and no norm
            layer, so that 2.x checkpoints load.
        with_cp: gradient checkpointing of the convs.
        stride: stride of the 3x3 output convs.
        init_cfg: Caffe2Xavier on every conv, as 2.x.
    """

    def __init__(self, in_channels: Sequence[int], out_channels: int, num_outs: int = 5,
                 pooling_type: str = 'AVG', conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = None, with_cp: bool = False, stride: int = 1,
                 init_cfg: Optional[Union[dict, List[dict]]] = dict(type='Caffe2Xavier',
                                                                    layer='Conv2d')):
        super().__init__(init_cfg=init_cfg)
        if not isinstance(in_channels, (list, tuple)):
            raise TypeError(f'HRFPN in_channels must be a list of ints, got {in_channels!r}')
        if pooling_type not in ('AVG', 'MAX'):
            raise ValueError(f"HRFPN pooling_type={pooling_type!r}; use 'AVG' or 'MAX'")
        self.in_channels = list(in_channels)
        self.out_channels = out_channels
        self.num_ins = len(in_channels)
        self.num_outs = num_outs
        self.with_cp = with_cp
        self.conv_cfg = conv_cfg
        self.norm_cfg = norm_cfg
        self.reduction_conv = ConvModule(sum(in_channels), out_channels, kernel_size=1,
                                         conv_cfg=conv_cfg, act_cfg=None)
        self.fpn_convs = nn.ModuleList(
            ConvModule(out_channels, out_channels, kernel_size=3, padding=1, stride=stride,
                       conv_cfg=conv_cfg, act_cfg=None) for _ in range(num_outs))
        self.pooling = F.max_pool2d if pooling_type == 'MAX' else F.avg_pool2d

    def _run(self, layer: nn.Module, x: Tensor) -> Tensor:
        if self.with_cp and x.requires_grad:
            return cp.checkpoint(layer, x, use_reentrant=False)
        return layer(x)

    def forward(self, inputs: Sequence[Tensor]) -> Tuple[Tensor, ...]:
        """``B`` branch maps → ``num_outs`` maps (N, out_channels, ., .)."""
        if len(inputs) != self.num_ins:
            raise ValueError(f'HRFPN was built for {self.num_ins} inputs (in_channels='
                             f'{self.in_channels}) but got {len(inputs)}')
        feats = [inputs[0]] + [F.interpolate(x, scale_factor=2**i, mode='bilinear')
                               for i, x in enumerate(inputs) if i > 0]
        out = self._run(self.reduction_conv, torch.cat(feats, dim=1))
        levels = [out] + [self.pooling(out, kernel_size=2**i, stride=2**i)
                          for i in range(1, self.num_outs)]
        return tuple(self._run(conv, x) for conv, x in zip(self.fpn_convs, levels))
