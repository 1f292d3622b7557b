"""Merge cells of NAS-FPN and NAS-FCOS, with mmcv's names (``mmcv.ops.merge_cells`` is pure
Python, but mmcv-lite cannot import ``mmcv.ops``).

A cell takes two maps (N, C, H1, W1), (N, C, H2, W2): optional 3x3 ``input1_conv`` /
``input2_conv``, both resized to ``out_size`` (default: the larger size), combined by the cell's
binary op (sum, concatenation, global-pooling attention), then an optional ``out_conv``.
"""
import math
from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..utils.conv_module import ConvModule


class BaseMergeCell(nn.Module):
    """Args:
        fused_channels / out_channels: channels into / out of ``out_conv``.
        with_out_conv: apply ``out_conv`` (a ConvModule of ``out_conv_cfg``, ``out_norm_cfg``,
            ``out_conv_order``) to the combined map.
        with_input1_conv / with_input2_conv: 3x3 ConvModule (``input_conv_cfg``,
            ``input_norm_cfg``) on each input.
        upsample_mode: 'nearest' or 'bilinear' for enlarging inputs (shrinking is max-pooling,
            after zero-padding to a multiple of the target size).
    """

    def __init__(self, fused_channels: Optional[int] = 256, out_channels: Optional[int] = 256,
                 with_out_conv: bool = True,
                 out_conv_cfg: dict = dict(groups=1, kernel_size=3, padding=1, bias=True),
                 out_norm_cfg: Optional[dict] = None,
                 out_conv_order: Sequence[str] = ('act', 'conv', 'norm'),
                 with_input1_conv: bool = False, with_input2_conv: bool = False,
                 input_conv_cfg: Optional[dict] = None, input_norm_cfg: Optional[dict] = None,
                 upsample_mode: str = 'nearest'):
        super().__init__()
        if upsample_mode not in ('nearest', 'bilinear'):
            raise ValueError(f"merge cell upsample_mode={upsample_mode!r}; use 'nearest' or "
                             "'bilinear'")
        self.with_out_conv = with_out_conv
        self.with_input1_conv = with_input1_conv
        self.with_input2_conv = with_input2_conv
        self.upsample_mode = upsample_mode
        if with_out_conv:
            self.out_conv = ConvModule(fused_channels, out_channels, **out_conv_cfg,
                                       norm_cfg=out_norm_cfg, order=tuple(out_conv_order))
        self.input1_conv = (self._input_conv(out_channels, input_conv_cfg, input_norm_cfg)
                            if with_input1_conv else nn.Sequential())
        self.input2_conv = (self._input_conv(out_channels, input_conv_cfg, input_norm_cfg)
                            if with_input2_conv else nn.Sequential())

    @staticmethod
    def _input_conv(channels: int, conv_cfg: Optional[dict],
                    norm_cfg: Optional[dict]) -> nn.Module:
        return ConvModule(channels, channels, 3, padding=1, conv_cfg=conv_cfg,
                          norm_cfg=norm_cfg, bias=True)

    def _binary_op(self, x1: Tensor, x2: Tensor) -> Tensor:
        raise NotImplementedError

    def _resize(self, x: Tensor, size: Sequence[int]) -> Tensor:
        size = tuple(size)
        current = tuple(x.shape[-2:])
        if current == size:
            return x
        # (h, w) tuples compare lexicographically, as in mmcv
        if current < size:
            return F.interpolate(x, size=size, mode=self.upsample_mode)
        if current[0] % size[0] or current[1] % size[1]:
            pad_h = math.ceil(current[0] / size[0]) * size[0] - current[0]
            pad_w = math.ceil(current[1] / size[1]) * size[1] - current[1]
            x = F.pad(x, (pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2),
                      mode='constant', value=0.0)
        kernel = (x.shape[-2] // size[0], x.shape[-1] // size[1])
        return F.max_pool2d(x, kernel_size=kernel, stride=kernel)

    def forward(self, x1: Tensor, x2: Tensor, out_size: Optional[Sequence[int]] = None) -> Tensor:
        if x1.shape[:2] != x2.shape[:2]:
            raise ValueError(f'merge cell inputs {tuple(x1.shape)} and {tuple(x2.shape)} '
                             'differ in batch or channels')
        if out_size is None:
            out_size = max(tuple(x1.shape[2:]), tuple(x2.shape[2:]))
        x1 = self._resize(self.input1_conv(x1), out_size)
        x2 = self._resize(self.input2_conv(x2), out_size)
        x = self._binary_op(x1, x2)
        return self.out_conv(x) if self.with_out_conv else x


class SumCell(BaseMergeCell):
    """x1 + x2."""

    def __init__(self, in_channels: int, out_channels: int, **kwargs):
        super().__init__(in_channels, out_channels, **kwargs)

    def _binary_op(self, x1: Tensor, x2: Tensor) -> Tensor:
        return x1 + x2


class ConcatCell(BaseMergeCell):
    """cat(x1, x2) on channels (``out_conv`` takes 2 * in_channels)."""

    def __init__(self, in_channels: int, out_channels: int, **kwargs):
        super().__init__(in_channels * 2, out_channels, **kwargs)

    def _binary_op(self, x1: Tensor, x2: Tensor) -> Tensor:
        return torch.cat([x1, x2], dim=1)


class GlobalPoolingCell(BaseMergeCell):
    """x2 + sigmoid(global average of x2) * x1."""

    def __init__(self, in_channels: Optional[int] = None, out_channels: Optional[int] = None,
                 **kwargs):
        super().__init__(in_channels, out_channels, **kwargs)
        self.global_pool = nn.AdaptiveAvgPool2d((1, 1))

    def _binary_op(self, x1: Tensor, x2: Tensor) -> Tensor:
        return x2 + self.global_pool(x2).sigmoid() * x1
