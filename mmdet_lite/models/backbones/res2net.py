"""Res2Net (Gao et al., 2019): Bottlenecks whose 3x3 stage is a hierarchy of ``scales - 1``
small 3x3 convs over channel splits, with a ResNetV1d stem and AvgPool shortcuts.

Bottle2neck: conv1 gives ``width * scales`` channels (``width = floor(planes * base_width /
base_channels)``), split in ``scales`` groups ``x_1..x_s``; ``y_1 = K_1(x_1)``, ``y_i = K_i(x_i +
y_{i-1})`` (``'normal'`` blocks) or ``K_i(x_i)`` (the first, ``'stage'`` block of a stage); the last
split passes through (average-pooled when the block strides). Names: ``convs.<i>``, ``bns.<i>``.
"""
import math
from typing import List, Optional

import torch
from torch import Tensor, nn

from ..builder import BACKBONES
from ..layers.conv import build_conv_layer
from ..layers.norm import build_norm_layer
from ..utils.res_layer import make_downsample
from .resnet import Bottleneck as _Bottleneck
from .resnet import ResNet
from ...core.utils.errors import ConfigValueError


class Bottle2neck(_Bottleneck):
    """Res2Net block.

    Args:
        scales: number of channel splits (> 1).
        base_width / base_channels: ``width = floor(planes * base_width / base_channels)``
            channels per split.
        stage_type: ``'stage'`` for the first block of a stage (splits are not chained; the last
            one is average-pooled when striding), ``'normal'`` otherwise.
        Others: as ResNet's Bottleneck; ``dcn`` makes the split convs deformable. Plugins after
            conv1/conv2 get ``width * scales`` channels, the ones they run on (2.x gives them
            ``planes``, which fails unless the two are equal).
    """

    expansion = 4
    _with_conv2 = False

    def __init__(self, inplanes: int, planes: int, scales: int = 4, base_width: int = 26,
                 base_channels: int = 64, stage_type: str = 'normal', stride: int = 1,
                 dilation: int = 1, downsample: Optional[nn.Module] = None,
                 style: str = 'pytorch', with_cp: bool = False, conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = None, dcn: Optional[dict] = None,
                 plugins: Optional[List[dict]] = None):
        if scales <= 1:
            raise ConfigValueError(f'Res2Net needs scales > 1 (scales=1 is a ResNet), got {scales}')
        if stage_type not in ('normal', 'stage'):
            raise ValueError(f"stage_type must be 'normal' or 'stage', got {stage_type!r}")
        width = int(math.floor(planes * (base_width / base_channels)))
        super().__init__(inplanes, planes, stride=stride, dilation=dilation,
                         downsample=downsample, style=style, with_cp=with_cp, conv_cfg=conv_cfg,
                         norm_cfg=norm_cfg, dcn=dcn, plugins=plugins,
                         mid_channels=width * scales)
        if stage_type == 'stage' and self.conv2_stride != 1:
            self.pool = nn.AvgPool2d(kernel_size=3, stride=self.conv2_stride, padding=1)
        self.convs = nn.ModuleList([
            build_conv_layer(self.conv2_cfg(), width, width, 3, stride=self.conv2_stride,
                             padding=dilation, dilation=dilation, bias=False)
            for _ in range(scales - 1)])
        self.bns = nn.ModuleList([build_norm_layer(self.norm_cfg, width, postfix=i + 1)[1]
                                  for i in range(scales - 1)])
        self.stage_type = stage_type
        self.scales = scales
        self.width = width

    def _middle(self, x: Tensor) -> Tensor:
        """(N, width * scales, H, W) -> (N, width * scales, H / stride, W / stride)."""
        splits = torch.split(x, self.width, 1)
        sp = self.relu(self.bns[0](self.convs[0](splits[0].contiguous())))
        outs = [sp]
        for i in range(1, self.scales - 1):
            sp = splits[i] if self.stage_type == 'stage' else sp + splits[i]
            sp = self.relu(self.bns[i](self.convs[i](sp.contiguous())))
            outs.append(sp)
        last = splits[self.scales - 1]
        outs.append(self.pool(last) if hasattr(self, 'pool') else last)
        return torch.cat(outs, 1)


class Res2Layer(nn.Sequential):
    """A Res2Net stage: a ``'stage'`` Bottle2neck with an AvgPool shortcut (when the stride or
    width changes) then ``num_blocks - 1`` ``'normal'`` ones.

    Args: as ``ResLayer`` (``avg_down`` is always on), plus ``scales`` and ``base_width``;
    ``block_kwargs`` go to every block.
    """

    def __init__(self, block: type, inplanes: int, planes: int, num_blocks: int,
                 stride: int = 1, avg_down: bool = True, conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = None, scales: int = 4, base_width: int = 26,
                 **block_kwargs):
        norm_cfg = dict(type='BN') if norm_cfg is None else norm_cfg
        out_channels = planes * block.expansion
        downsample = None
        if stride != 1 or inplanes != out_channels:
            downsample = make_downsample(inplanes, out_channels, stride, True, conv_cfg, norm_cfg)
        common = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg, scales=scales,
                      base_width=base_width, **block_kwargs)
        blocks = [block(inplanes=inplanes, planes=planes, stride=stride, downsample=downsample,
                        stage_type='stage', **common)]
        blocks += [block(inplanes=out_channels, planes=planes, stride=1, **common)
                   for _ in range(1, num_blocks)]
        super().__init__(*blocks)


@BACKBONES.register_module()
class Res2Net(ResNet):
    """Res2Net-50/101/152; always ``style='pytorch'``, ``deep_stem=True``, ``avg_down=True``
    (as 2.x, whatever is passed).

    Args:
        scales: channel splits per block.
        base_width: split width in the first stage (at ``base_channels=64``).
        **kwargs: ResNet's other arguments.
    """

    arch_settings = {
        50: (Bottle2neck, (3, 4, 6, 3)),
        101: (Bottle2neck, (3, 4, 23, 3)),
        152: (Bottle2neck, (3, 8, 36, 3)),
    }

    def __init__(self, scales: int = 4, base_width: int = 26, style: str = 'pytorch',
                 deep_stem: bool = True, avg_down: bool = True, **kwargs):
        # make_res_layer (called by ResNet.__init__) reads these
        self.scales = scales
        self.base_width = base_width
        super().__init__(style='pytorch', deep_stem=True, avg_down=True, **kwargs)

    def make_res_layer(self, **kwargs) -> nn.Module:
        return Res2Layer(scales=self.scales, base_width=self.base_width,
                         base_channels=self.base_channels, **kwargs)
