"""Dynamic Head (Dai et al., 2021) as a neck, as mmdetection 2.x's: blocks of scale-, spatial-
(modulated deformable conv) and task-aware (DyReLU) attention over the pyramid.

Shapes: ``L`` maps (N, in_channels, H_l, W_l), each level half the previous → ``L`` maps
(N, out_channels, H_l, W_l).
"""
from typing import List, Optional, Sequence, Tuple

import torch.nn.functional as F
from mmcv.cnn import build_activation_layer
from mmengine.model import BaseModule
from torch import Tensor, nn

from ..builder import NECKS
from ..layers import build_norm_layer
from ..layers.modulated_deform_conv import ModulatedDeformConv2d
from ..utils.se_layer import DyReLU
from ...core.utils.errors import ConfigTypeError


class DyDCNv2(nn.Module):
    """A 3x3 modulated deformable conv taking external offsets and mask, then a norm
    (GroupNorm 16; the conv has a bias only without norm)."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1,
                 norm_cfg: Optional[dict] = dict(type='GN', num_groups=16, requires_grad=True)):
        super().__init__()
        self.with_norm = norm_cfg is not None
        self.conv = ModulatedDeformConv2d(in_channels, out_channels, 3, stride=stride,
                                          padding=1, bias=not self.with_norm)
        if self.with_norm:
            self.norm = build_norm_layer(norm_cfg, out_channels)[1]

    def forward(self, x: Tensor, offset: Tensor, mask: Tensor) -> Tensor:
        offset, mask = self._as_read_by_mmcv(x, offset.contiguous(), mask.contiguous())
        x = self.conv(x.contiguous(), offset, mask)
        return self.norm(x) if self.with_norm else x

    def _as_read_by_mmcv(self, x: Tensor, offset: Tensor, mask: Tensor) -> Tuple[Tensor, Tensor]:
        """Offsets and mask as mmcv's compiled kernel reads them for this conv's output size.

        DyHead applies the offsets of level l to the conv of level l + 1, whose output is a
        quarter of their size. mmcv's kernel never checks: for each image it reads the first
        C * H_out * W_out values of the offset (and mask) memory as a (C, H_out, W_out) map. 2.x's
        DyHead checkpoints were trained that way, so the same values are taken here.
        """
        h_out = (x.shape[2] + 2 * self.conv.padding[0] - 3) // self.conv.stride[0] + 1
        w_out = (x.shape[3] + 2 * self.conv.padding[1] - 3) // self.conv.stride[1] + 1
        if offset.shape[2:] == (h_out, w_out):
            return offset, mask
        if offset.shape[2] * offset.shape[3] < h_out * w_out:
            raise ValueError(f'DyDCNv2: offsets of size {tuple(offset.shape[2:])} cannot cover '
                             f'the output size {(h_out, w_out)}')
        n = offset.shape[0]

        def head(t: Tensor) -> Tensor:
            return t.flatten(1)[:, :t.shape[1] * h_out * w_out].reshape(n, -1, h_out, w_out)

        return head(offset), head(mask)


class DyHeadBlock(nn.Module):
    """One DyHead block. Per level l: offsets and mask from a 3x3 conv on level l; the deformable
    conv of level l, of level l-1 (stride 2) and of level l+1 (bilinearly resized), each weighted
    by the scale attention (pool → 1x1 conv → ReLU → hard sigmoid), averaged, then DyReLU."""

    def __init__(self, in_channels: int, out_channels: int, zero_init_offset: bool = True,
                 act_cfg: dict = dict(type='HSigmoid', bias=3.0, divisor=6.0)):
        super().__init__()
        self.zero_init_offset = zero_init_offset
        self.offset_and_mask_dim = 3 * 3 * 3  # (dy, dx, mask) per kernel position
        self.offset_dim = 2 * 3 * 3
        self.spatial_conv_high = DyDCNv2(in_channels, out_channels)
        self.spatial_conv_mid = DyDCNv2(in_channels, out_channels)
        self.spatial_conv_low = DyDCNv2(in_channels, out_channels, stride=2)
        self.spatial_conv_offset = nn.Conv2d(in_channels, self.offset_and_mask_dim, 3,
                                             padding=1)
        self.scale_attn_module = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Conv2d(out_channels, 1, 1), nn.ReLU(inplace=True),
            build_activation_layer(act_cfg))
        self.task_attn_module = DyReLU(out_channels)
        self._init_weights()

    def _init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.normal_(m.weight, 0, 0.01)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
        if self.zero_init_offset:
            nn.init.zeros_(self.spatial_conv_offset.weight)
            nn.init.zeros_(self.spatial_conv_offset.bias)

    def forward(self, x: Sequence[Tensor]) -> List[Tensor]:
        outs = []
        for level, feat in enumerate(x):
            offset_and_mask = self.spatial_conv_offset(feat)
            offset = offset_and_mask[:, :self.offset_dim]
            mask = offset_and_mask[:, self.offset_dim:].sigmoid()
            mid = self.spatial_conv_mid(feat, offset, mask)
            total = mid * self.scale_attn_module(mid)
            count = 1
            if level > 0:
                low = self.spatial_conv_low(x[level - 1], offset, mask)
                total = total + low * self.scale_attn_module(low)
                count += 1
            if level < len(x) - 1:
                high = F.interpolate(self.spatial_conv_high(x[level + 1], offset, mask),
                                     size=feat.shape[-2:], mode='bilinear', align_corners=True)
                total = total + high * self.scale_attn_module(high)
                count += 1
            outs.append(self.task_attn_module(total / count))
        return outs


@NECKS.register_module()
class DyHead(BaseModule):
    """Args:
        in_channels: channels of the input levels.
        out_channels: channels of every block's output.
        num_blocks: DyHead blocks.
        zero_init_offset: start with zero offsets and mask logits (mask 0.5).
        init_cfg: must be None (the blocks initialise themselves, as 2.x).
    """

    def __init__(self, in_channels: int, out_channels: int, num_blocks: int = 6,
                 zero_init_offset: bool = True, init_cfg: Optional[dict] = None):
        if init_cfg is not None:
            raise ValueError('DyHead initialises its own blocks; init_cfg must be None, got '
                             f'{init_cfg!r}')
        super().__init__(init_cfg=init_cfg)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.num_blocks = num_blocks
        self.zero_init_offset = zero_init_offset
        self.dyhead_blocks = nn.Sequential(*[
            DyHeadBlock(in_channels if i == 0 else out_channels, out_channels,
                        zero_init_offset=zero_init_offset) for i in range(num_blocks)])

    def forward(self, inputs: Sequence[Tensor]) -> Tuple[Tensor, ...]:
        if not isinstance(inputs, (tuple, list)):
            raise ConfigTypeError('DyHead takes the list of pyramid levels')
        return tuple(self.dyhead_blocks(inputs))
