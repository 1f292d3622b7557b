"""Stacked Hourglass network (Newell et al., 2016; CornerNet's backbone), as mmdetection 2.x's.

Shapes: input (N, 3, H, W) → ``num_stacks`` maps (N, feat_channel, H / 4, W / 4), one per
hourglass (the detector supervises every stack).
"""
from typing import List, Optional, Sequence

import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor, nn

from ..builder import BACKBONES
from ..utils.conv_module import ConvModule
from ..utils.res_layer import ResLayer
from .resnet import BasicBlock
from ...core.utils.errors import ConfigValueError


class HourglassModule(nn.Module):
    """One hourglass level, recursive: ``up1`` (same resolution) + upsampled
    ``low3(low2(low1(x)))`` where ``low1`` halves the resolution and ``low2`` is the next level
    (or a plain stack at the bottom).

    Args:
        depth: levels below this one (1: ``low2`` is a ResLayer).
        stage_channels / stage_blocks: width / BasicBlock count per level, this one first.
        norm_cfg: norm of this level's layers (the nested levels use the default BN, as 2.x).
        upsample_cfg: ``F.interpolate`` arguments (without ``scale_factor``: to up1's size).
    """

    def __init__(self, depth: int, stage_channels: Sequence[int], stage_blocks: Sequence[int],
                 norm_cfg: Optional[dict] = None, upsample_cfg: Optional[dict] = None):
        super().__init__()
        norm_cfg = dict(type='BN', requires_grad=True) if norm_cfg is None else norm_cfg
        self.depth = depth
        cur_block, next_block = stage_blocks[0], stage_blocks[1]
        cur_channel, next_channel = stage_channels[0], stage_channels[1]
        self.up1 = ResLayer(BasicBlock, cur_channel, cur_channel, cur_block, norm_cfg=norm_cfg)
        self.low1 = ResLayer(BasicBlock, cur_channel, next_channel, cur_block, stride=2,
                             norm_cfg=norm_cfg)
        if depth > 1:
            self.low2 = HourglassModule(depth - 1, stage_channels[1:], stage_blocks[1:])
        else:
            self.low2 = ResLayer(BasicBlock, next_channel, next_channel, next_block,
                                 norm_cfg=norm_cfg)
        self.low3 = ResLayer(BasicBlock, next_channel, cur_channel, cur_block,
                             norm_cfg=norm_cfg, downsample_first=False)
        self.up2 = F.interpolate
        self.upsample_cfg = dict(mode='nearest') if upsample_cfg is None else upsample_cfg

    def forward(self, x: Tensor) -> Tensor:
        up1 = self.up1(x)
        low3 = self.low3(self.low2(self.low1(x)))
        if 'scale_factor' in self.upsample_cfg:
            up2 = self.up2(low3, **self.upsample_cfg)
        else:
            up2 = self.up2(low3, size=up1.shape[2:], **self.upsample_cfg)
        return up1 + up2


@BACKBONES.register_module()
class HourglassNet(BaseModule):
    """HourglassNet.

    Args:
        downsample_times: levels of each hourglass.
        num_stacks: hourglasses (1: Hourglass-52, 2: Hourglass-104).
        stage_channels / stage_blocks: per level, more entries than ``downsample_times``.
        feat_channel: channels of each output.
        norm_cfg: norm of the stem and the inter-stack layers.
        pretrained: accepted and unused, as in 2.x.
        init_cfg: must be None (convs get PyTorch's default init, as 2.x).
    """

    def __init__(self, downsample_times: int = 5, num_stacks: int = 2,
                 stage_channels: Sequence[int] = (256, 256, 384, 384, 384, 512),
                 stage_blocks: Sequence[int] = (2, 2, 2, 2, 2, 4), feat_channel: int = 256,
                 norm_cfg: Optional[dict] = None, pretrained: Optional[str] = None,
                 init_cfg: Optional[dict] = None):
        if init_cfg is not None:
            raise ValueError('HourglassNet initialises its own layers; init_cfg must be None')
        super().__init__(init_cfg=init_cfg)
        if num_stacks < 1:
            raise ConfigValueError(f'HourglassNet num_stacks={num_stacks} must be at least 1')
        if len(stage_channels) != len(stage_blocks) or len(stage_channels) <= downsample_times:
            raise ConfigValueError(f'HourglassNet stage_channels {tuple(stage_channels)} and '
                                   f'stage_blocks {tuple(stage_blocks)} need the same length, more '
                                   f'than downsample_times={downsample_times}')
        norm_cfg = dict(type='BN', requires_grad=True) if norm_cfg is None else norm_cfg
        self.num_stacks = num_stacks
        cur = stage_channels[0]
        self.stem = nn.Sequential(
            ConvModule(3, cur // 2, 7, padding=3, stride=2, norm_cfg=norm_cfg),
            ResLayer(BasicBlock, cur // 2, cur, 1, stride=2, norm_cfg=norm_cfg))
        self.hourglass_modules = nn.ModuleList(
            HourglassModule(downsample_times, stage_channels, stage_blocks)
            for _ in range(num_stacks))
        # 2.x's ResLayer always builds its first block: one block even for a single stack
        self.inters = ResLayer(BasicBlock, cur, cur, max(num_stacks - 1, 1), norm_cfg=norm_cfg)
        self.conv1x1s = nn.ModuleList(
            ConvModule(cur, cur, 1, norm_cfg=norm_cfg, act_cfg=None)
            for _ in range(num_stacks - 1))
        self.out_convs = nn.ModuleList(
            ConvModule(cur, feat_channel, 3, padding=1, norm_cfg=norm_cfg)
            for _ in range(num_stacks))
        self.remap_convs = nn.ModuleList(
            ConvModule(feat_channel, cur, 1, norm_cfg=norm_cfg, act_cfg=None)
            for _ in range(num_stacks - 1))
        self.relu = nn.ReLU(inplace=True)

    def init_weights(self) -> None:
        """PyTorch's default conv init (CornerNet's), norms at 1/0."""
        super().init_weights()
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                m.reset_parameters()
        self._is_init = True

    def forward(self, x: Tensor) -> List[Tensor]:
        """(N, 3, H, W) → ``num_stacks`` maps (N, feat_channel, H / 4, W / 4)."""
        inter = self.stem(x)
        outs = []
        for i in range(self.num_stacks):
            out = self.out_convs[i](self.hourglass_modules[i](inter))
            outs.append(out)
            if i < self.num_stacks - 1:
                inter = self.conv1x1s[i](inter) + self.remap_convs[i](out)
                inter = self.inters[i](self.relu(inter))
        return outs
