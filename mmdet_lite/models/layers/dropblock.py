"""DropBlock (Ghiasi et al., 2018): zero random square regions of a feature map while training.

A ResNet plugin of mmdetection 2.x (``plugins=[dict(cfg=dict(type='DropBlock', drop_prob=0.1,
block_size=7), position='after_conv2', ...)]``); it has no parameters.
"""
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ...registry import MODELS
from ...core.utils.errors import ConfigValueError

_EPS = 1e-6


@MODELS.register_module()
class DropBlock(nn.Module):
    """Drop ``block_size`` x ``block_size`` regions, each pixel starting one with a rate chosen so
    that about ``drop_prob`` of the map is dropped; the rest is rescaled to keep the mean.

    Args:
        drop_prob: fraction of the feature map to drop, in (0, 1].
        block_size: side of a dropped square, odd.
        warmup_iters: ``drop_prob`` ramps up linearly over this many training forwards.
        in_channels: passed by the plugin builder; unused.
    """

    def __init__(self, drop_prob: float, block_size: int, warmup_iters: int = 2000,
                 in_channels: Optional[int] = None):
        super().__init__()
        if block_size % 2 != 1:
            raise ValueError(f'DropBlock block_size must be odd, got {block_size}')
        if not 0 < drop_prob <= 1:
            raise ConfigValueError(f'DropBlock drop_prob must be in (0, 1], got {drop_prob}')
        if warmup_iters < 0:
            raise ValueError(f'DropBlock warmup_iters must be >= 0, got {warmup_iters}')
        self.drop_prob = drop_prob
        self.block_size = block_size
        self.warmup_iters = warmup_iters
        self.iter_cnt = 0

    def forward(self, x: Tensor) -> Tensor:
        """(N, C, H, W) -> (N, C, H, W); the identity in eval mode."""
        if not self.training:
            return x
        self.iter_cnt += 1
        n, c, h, w = x.shape
        if h < self.block_size or w < self.block_size:
            raise ValueError(f'DropBlock(block_size={self.block_size}) got a {h}x{w} feature map; '
                                   'it needs maps at least block_size wide: use a smaller block_size '
                                   "or leave this stage out of the plugin's stages")
        half = self.block_size // 2
        # Block centres are drawn where a whole block fits, then grown to blocks by a max-pool.
        centres = torch.bernoulli(torch.full(
            (n, c, h - self.block_size + 1, w - self.block_size + 1), self._gamma((h, w)),
            device=x.device))
        dropped = F.max_pool2d(F.pad(centres, [half] * 4, value=0), kernel_size=self.block_size,
                               stride=1, padding=half)
        keep = 1 - dropped
        return x * keep * keep.numel() / (_EPS + keep.sum())

    def _gamma(self, feat_size: Tuple[int, int]) -> float:
        """Bernoulli rate of a block centre: drop_prob * area / (block area * valid-centre area),
        scaled by the warm-up factor."""
        h, w = feat_size
        gamma = self.drop_prob * h * w / ((h - self.block_size + 1) * (w - self.block_size + 1))
        gamma /= self.block_size**2
        factor = 1.0 if self.iter_cnt > self.warmup_iters else self.iter_cnt / self.warmup_iters
        return gamma * factor

    def extra_repr(self) -> str:
        return (f'drop_prob={self.drop_prob}, block_size={self.block_size}, '
                f'warmup_iters={self.warmup_iters}')
