"""CARAFE (Wang et al., 2019), content-aware upsampling, in plain PyTorch with mmcv's names.

``carafe(features, masks, kernel_size, group_size, scale_factor)``: every output pixel (h, w)
is a weighted sum of the k x k neighbourhood of input pixel (h // s, w // s) (zero outside the
map), the weights being ``masks`` at (h, w); channel c uses the weights of group
``c // (C / group_size)``. This is the arithmetic of mmcv's compiled ``carafe`` (its CUDA
kernel ``CARAFEForward``), written as k * k shifted, nearest-upsampled multiply-adds: memory
O(C * H * W * s**2) instead of an unfolded copy k * k times larger; autograd gives the backward.

Shapes: features (N, C, H, W), masks (N, group_size * k * k, H * s, W * s) → (N, C, H * s, W * s).

``CARAFEPack`` (channel compressor + content encoder + normalised kernels + the op) is registered
as upsample type ``'carafe'`` in mmengine's root registry, where mmcv's ``build_upsample_layer``
looks, as mmcv-full does.
"""
import torch.nn.functional as F
from mmengine.model.weight_init import normal_init, xavier_init
from mmengine.registry import MODELS as MMENGINE_MODELS
from torch import Tensor, nn


def carafe(features: Tensor, masks: Tensor, kernel_size: int, group_size: int,
           scale_factor: int) -> Tensor:
    """Reassemble ``features`` with the per-pixel kernels ``masks`` (module docstring)."""
    n, c, h, w = features.shape
    k, s = kernel_size, scale_factor
    if k % 2 == 0:
        raise ValueError(f'carafe kernel_size must be odd, got {k}')
    if c % group_size:
        raise ValueError(f'carafe: {c} channels do not split into group_size={group_size}')
    if tuple(masks.shape) != (n, group_size * k * k, h * s, w * s):
        raise ValueError(f'carafe: masks of shape {tuple(masks.shape)}, expected '
                         f'{(n, group_size * k * k, h * s, w * s)} for features '
                         f'{tuple(features.shape)}')
    pad = (k - 1) // 2
    padded = F.pad(features, (pad, pad, pad, pad))
    masks = masks.view(n, group_size, 1, k * k, h * s, w * s)
    out = features.new_zeros(n, group_size, c // group_size, h * s, w * s)
    for i in range(k):
        for j in range(k):
            shifted = padded[:, :, i:i + h, j:j + w]
            shifted = shifted.repeat_interleave(s, dim=2).repeat_interleave(s, dim=3)
            out = out + shifted.view(n, group_size, c // group_size, h * s, w * s) * \
                masks[:, :, :, i * k + j]
    return out.view(n, c, h * s, w * s)


class CARAFE(nn.Module):
    """The CARAFE op as a module (no parameters): ``forward(features, masks)``."""

    def __init__(self, kernel_size: int, group_size: int, scale_factor: int):
        super().__init__()
        self.kernel_size = kernel_size
        self.group_size = group_size
        self.scale_factor = scale_factor

    def forward(self, features: Tensor, masks: Tensor) -> Tensor:
        return carafe(features, masks, self.kernel_size, self.group_size, self.scale_factor)


@MMENGINE_MODELS.register_module('carafe')
class CARAFEPack(nn.Module):
    """CARAFE upsampler: 1x1 ``channel_compressor`` → ``content_encoder`` conv predicting
    ``up_kernel**2 * up_group * scale_factor**2`` kernel weights per pixel → pixel shuffle and
    softmax over each kernel → :func:`carafe`. (N, C, H, W) → (N, C, H * s, W * s).

    Args:
        channels: input channels.
        scale_factor: upsampling ratio.
        up_kernel / up_group: CARAFE kernel size and channel groups.
        encoder_kernel / encoder_dilation: content encoder conv.
        compressed_channels: channel compressor output.
    """

    def __init__(self, channels: int, scale_factor: int, up_kernel: int = 5, up_group: int = 1,
                 encoder_kernel: int = 3, encoder_dilation: int = 1,
                 compressed_channels: int = 64):
        super().__init__()
        self.channels = channels
        self.scale_factor = scale_factor
        self.up_kernel = up_kernel
        self.up_group = up_group
        self.encoder_kernel = encoder_kernel
        self.encoder_dilation = encoder_dilation
        self.compressed_channels = compressed_channels
        self.channel_compressor = nn.Conv2d(channels, compressed_channels, 1)
        self.content_encoder = nn.Conv2d(
            compressed_channels, up_kernel * up_kernel * up_group * scale_factor * scale_factor,
            encoder_kernel, padding=int((encoder_kernel - 1) * encoder_dilation / 2),
            dilation=encoder_dilation)
        self.init_weights()

    def init_weights(self) -> None:
        xavier_init(self.channel_compressor, distribution='uniform')
        normal_init(self.content_encoder, std=0.001)

    def kernel_normalizer(self, mask: Tensor) -> Tensor:
        """(N, k*k*g*s*s, H, W) → (N, k*k*g, H*s, W*s), softmax over each k*k kernel."""
        mask = F.pixel_shuffle(mask, self.scale_factor)
        n, mask_c, h, w = mask.shape
        mask = F.softmax(mask.view(n, mask_c // self.up_kernel**2, -1, h, w), dim=2)
        return mask.view(n, mask_c, h, w).contiguous()

    def feature_reassemble(self, x: Tensor, mask: Tensor) -> Tensor:
        return carafe(x, mask, self.up_kernel, self.up_group, self.scale_factor)

    def forward(self, x: Tensor) -> Tensor:
        mask = self.kernel_normalizer(self.content_encoder(self.channel_compressor(x)))
        return self.feature_reassemble(x, mask)
