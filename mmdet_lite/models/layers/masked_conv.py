"""Masked convolution (mmcv's ``MaskedConv2d``), in plain PyTorch.

Guided anchoring runs its predictors only where the location branch expects an object: at test
time the conv is evaluated at the masked-in positions and the output is zero elsewhere. As in
mmcv, the values at the kept positions are those of the ordinary conv (im2col of the kept
positions, then one matrix product), stride must be 1, and without a mask the layer is a plain
``nn.Conv2d`` (training). Parameter names are ``nn.Conv2d``'s (``weight``, ``bias``), so
mmdetection 2.x checkpoints load unchanged.

Unlike mmcv (CUDA only, one image, no backward) this works on any device, for a batch of
images, and is differentiable.
"""
from typing import Optional, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.modules.utils import _pair

_IntPair = Union[int, Tuple[int, int]]


def masked_conv2d(features: Tensor, mask: Tensor, weight: Tensor, bias: Optional[Tensor] = None,
                  padding: _IntPair = 0, stride: _IntPair = 1) -> Tensor:
    """Convolution evaluated only where ``mask`` is true; zero elsewhere.

    Args:
        features: (N, C_in, H, W).
        mask: (N, H, W) (or (1, H, W) for every image); non-zero keeps a position.
        weight: (C_out, C_in, kh, kw) (no groups, no dilation, as mmcv).
        bias: (C_out,) or None.
        padding: zero padding; the output must keep the input's size (``padding = (k - 1) / 2``).
        stride: must be 1 (as mmcv).

    Returns:
        (N, C_out, H, W).
    """
    if _pair(stride) != (1, 1):
        raise ValueError(f'masked_conv2d supports only stride 1 (as mmcv), got stride={stride}')
    if features.dim() != 4:
        raise ValueError(f'masked_conv2d: features must be (N, C, H, W), got '
                         f'{tuple(features.shape)}')
    n, c, h, w = features.shape
    out_c, in_c, kh, kw = weight.shape
    if in_c != c:
        raise ValueError(f'masked_conv2d: features have {c} channels but weight '
                         f'{tuple(weight.shape)} expects {in_c}')
    pad_h, pad_w = _pair(padding)
    if (h + 2 * pad_h - kh + 1, w + 2 * pad_w - kw + 1) != (h, w):
        raise ValueError(f'masked_conv2d: kernel {kh}x{kw} with padding {(pad_h, pad_w)} changes '
                         f'the size {h}x{w}; use padding=(kernel_size - 1) // 2')
    if mask.dim() != 3 or mask.shape[-2:] != (h, w) or mask.size(0) not in (1, n):
        raise ValueError(f'masked_conv2d: mask must be (N={n} or 1, {h}, {w}), got '
                         f'{tuple(mask.shape)}')
    mask = mask.expand(n, h, w) > 0
    batch_idx, ys, xs = mask.nonzero(as_tuple=True)
    out = features.new_zeros(n, h, w, out_c)
    if batch_idx.numel() > 0:
        padded = F.pad(features, (pad_w, pad_w, pad_h, pad_h)).permute(0, 2, 3, 1)
        # (M, C_in, kh * kw): the window of each kept position, in weight.view(C_out, -1)'s order
        cols = torch.stack([padded[batch_idx, ys + i, xs + j]
                            for i in range(kh) for j in range(kw)], dim=-1)
        values = cols.reshape(cols.size(0), -1) @ weight.reshape(out_c, -1).t()
        if bias is not None:
            values = values + bias
        out = out.index_put((batch_idx, ys, xs), values.to(out.dtype))
    return out.permute(0, 3, 1, 2).contiguous()


class MaskedConv2d(nn.Conv2d):
    """``nn.Conv2d`` whose ``forward(x, mask)`` computes only the masked-in positions.

    ``mask`` None (training) runs the plain conv; otherwise see :func:`masked_conv2d`.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: _IntPair,
                 stride: _IntPair = 1, padding: _IntPair = 0, dilation: _IntPair = 1,
                 groups: int = 1, bias: bool = True):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias)

    def forward(self, input: Tensor, mask: Optional[Tensor] = None) -> Tensor:  # type: ignore
        """(N, C_in, H, W) and an optional (N, H, W) mask -> (N, C_out, H_out, W_out)."""
        if mask is None:
            return super().forward(input)
        if self.groups != 1 or _pair(self.dilation) != (1, 1):
            raise ValueError(f'MaskedConv2d with a mask supports groups=1 and dilation=1 only '
                             f'(as mmcv), got groups={self.groups}, dilation={self.dilation}')
        return masked_conv2d(input, mask, self.weight, self.bias, self.padding, self.stride)
