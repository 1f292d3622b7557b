"""YOLOv3's neck, as mmdetection 2.x's: a detection block (five conv layers) per scale, from
the coarsest input up, each finer one fed the previous block's output (1x1 conv, 2x nearest
upsampling) concatenated with its input.

Shapes: ``S`` inputs (N, in_channels[s], ...) finest first, consumed coarsest first; output ``s``
(N, out_channels[s], H_s, W_s) for the ``s``-th coarsest input.
"""
from typing import List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor, nn

from ..builder import NECKS
from ..utils.conv_module import ConvModule
from ...core.utils.errors import ConfigValueError

_LEAKY = dict(type='LeakyReLU', negative_slope=0.1)


class DetectionBlock(nn.Module):
    """1x1 n, 3x3 2n, 1x1 n, 3x3 2n, 1x1 n convs (n = ``out_channels``)."""

    def __init__(self, in_channels: int, out_channels: int, conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = None, act_cfg: Optional[dict] = None):
        super().__init__()
        cfg = dict(conv_cfg=conv_cfg,
                   norm_cfg=dict(type='BN', requires_grad=True) if norm_cfg is None else norm_cfg,
                   act_cfg=dict(_LEAKY) if act_cfg is None else act_cfg)
        double = out_channels * 2
        self.conv1 = ConvModule(in_channels, out_channels, 1, **cfg)
        self.conv2 = ConvModule(out_channels, double, 3, padding=1, **cfg)
        self.conv3 = ConvModule(double, out_channels, 1, **cfg)
        self.conv4 = ConvModule(out_channels, double, 3, padding=1, **cfg)
        self.conv5 = ConvModule(double, out_channels, 1, **cfg)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv5(self.conv4(self.conv3(self.conv2(self.conv1(x)))))


@NECKS.register_module()
class YOLOV3Neck(BaseModule):
    """YOLOV3Neck.

    Args:
        num_scales: number of inputs/outputs.
        in_channels: channels per scale, in the order of ``forward``'s outputs (coarsest first).
        out_channels: channels per output scale (coarsest first).
        conv_cfg / norm_cfg / act_cfg: layer configs (LeakyReLU 0.1).
    """

    def __init__(self, num_scales: int, in_channels: Sequence[int],
                 out_channels: Sequence[int], conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = None, act_cfg: Optional[dict] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None):
        super().__init__(init_cfg=init_cfg)
        if not num_scales == len(in_channels) == len(out_channels):
            raise ConfigValueError(f'YOLOV3Neck: num_scales={num_scales} but in_channels '
                                   f'{list(in_channels)} and out_channels {list(out_channels)}')
        self.num_scales = num_scales
        self.in_channels = list(in_channels)
        self.out_channels = list(out_channels)
        cfg = dict(conv_cfg=conv_cfg,
                   norm_cfg=dict(type='BN', requires_grad=True) if norm_cfg is None else norm_cfg,
                   act_cfg=dict(_LEAKY) if act_cfg is None else act_cfg)
        self.detect1 = DetectionBlock(in_channels[0], out_channels[0], **cfg)
        for i in range(1, num_scales):
            self.add_module(f'conv{i}', ConvModule(out_channels[i - 1], out_channels[i], 1, **cfg))
            self.add_module(f'detect{i + 1}', DetectionBlock(
                in_channels[i] + out_channels[i], out_channels[i], **cfg))

    def forward(self, feats: Sequence[Tensor]) -> Tuple[Tensor, ...]:
        if len(feats) != self.num_scales:
            raise ConfigValueError(f'YOLOV3Neck was built for {self.num_scales} inputs, got '
                                   f'{len(feats)}')
        out = self.detect1(feats[-1])
        outs = [out]
        for i, x in enumerate(reversed(feats[:-1]), start=1):
            up = F.interpolate(getattr(self, f'conv{i}')(out), scale_factor=2)
            out = getattr(self, f'detect{i + 1}')(torch.cat((up, x), 1))
            outs.append(out)
        return tuple(outs)
