"""YOLOX's path aggregation neck (PAFPN with CSP blocks), as mmdetection 2.x's.

Shapes: ``L`` inputs (N, in_channels[l], H / 2**l, W / 2**l) (finest first) → ``L`` outputs
(N, out_channels, H / 2**l, W / 2**l).
"""
import math
from typing import List, Optional, Sequence, Tuple, Union

import torch
from mmcv.cnn import DepthwiseSeparableConvModule
from mmengine.model import BaseModule
from torch import Tensor, nn

from ..builder import NECKS
from ..utils.conv_module import ConvModule
from ..utils.csp_layer import CSPLayer


@NECKS.register_module()
class YOLOXPAFPN(BaseModule):
    """Top-down: reduce the coarser map (1x1), upsample, concat with the finer input, CSP block;
    bottom-up: stride-2 conv, concat with the top-down map, CSP block; a 1x1 conv per output.

    Args:
        in_channels: channels of each input, finest first.
        out_channels: channels of every output.
        num_csp_blocks: bottlenecks per CSP block.
        use_depthwise: depth-wise separable stride-2 convs and bottlenecks.
        upsample_cfg: ``nn.Upsample`` arguments.
        conv_cfg / norm_cfg / act_cfg: layer configs.
        init_cfg: Kaiming-uniform convs (a=sqrt(5)), as 2.x.
    """

    def __init__(self, in_channels: Sequence[int], out_channels: int, num_csp_blocks: int = 3,
                 use_depthwise: bool = False, upsample_cfg: Optional[dict] = None,
                 conv_cfg: Optional[dict] = None, norm_cfg: Optional[dict] = None,
                 act_cfg: Optional[dict] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = dict(
                     type='Kaiming', layer='Conv2d', a=math.sqrt(5), distribution='uniform',
                     mode='fan_in', nonlinearity='leaky_relu')):
        super().__init__(init_cfg=init_cfg)
        norm_cfg = dict(type='BN', momentum=0.03, eps=0.001) if norm_cfg is None else norm_cfg
        act_cfg = dict(type='Swish') if act_cfg is None else act_cfg
        layer = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        csp = dict(num_blocks=num_csp_blocks, add_identity=False, use_depthwise=use_depthwise,
                   **layer)
        self.in_channels = list(in_channels)
        self.out_channels = out_channels
        conv = DepthwiseSeparableConvModule if use_depthwise else ConvModule
        self.upsample = nn.Upsample(**(dict(scale_factor=2, mode='nearest')
                                       if upsample_cfg is None else upsample_cfg))
        self.reduce_layers = nn.ModuleList()
        self.top_down_blocks = nn.ModuleList()
        for i in range(len(in_channels) - 1, 0, -1):
            self.reduce_layers.append(ConvModule(in_channels[i], in_channels[i - 1], 1, **layer))
            self.top_down_blocks.append(
                CSPLayer(in_channels[i - 1] * 2, in_channels[i - 1], **csp))
        self.downsamples = nn.ModuleList()
        self.bottom_up_blocks = nn.ModuleList()
        for i in range(len(in_channels) - 1):
            self.downsamples.append(conv(in_channels[i], in_channels[i], 3, stride=2, padding=1,
                                         **layer))
            self.bottom_up_blocks.append(
                CSPLayer(in_channels[i] * 2, in_channels[i + 1], **csp))
        self.out_convs = nn.ModuleList(
            ConvModule(c, out_channels, 1, **layer) for c in in_channels)

    def forward(self, inputs: Sequence[Tensor]) -> Tuple[Tensor, ...]:
        num = len(self.in_channels)
        if len(inputs) != num:
            raise ValueError(f'YOLOXPAFPN was built for {num} inputs (in_channels='
                             f'{self.in_channels}) but got {len(inputs)}')
        # top-down; inner[0] is the finest map so far; each coarser map is replaced by its
        # reduced version, which the bottom-up path reads
        inner = [inputs[-1]]
        for step, i in enumerate(range(num - 1, 0, -1)):
            coarse = self.reduce_layers[step](inner[0])
            inner[0] = coarse
            inner.insert(0, self.top_down_blocks[step](
                torch.cat([self.upsample(coarse), inputs[i - 1]], 1)))
        outs = [inner[0]]
        for i in range(num - 1):
            down = self.downsamples[i](outs[-1])
            outs.append(self.bottom_up_blocks[i](torch.cat([down, inner[i + 1]], 1)))
        return tuple(conv(out) for conv, out in zip(self.out_convs, outs))
