"""Transformer bricks of the 2.x backbones (Swin, PVT): mmcv-lite's, plus token/map reshapes.

mmcv-lite 2.x ships, in pure Python, the same ``FFN``, ``PatchEmbed`` (``projection``, ``norm``),
``PatchMerging`` (``sampler``, ``norm``, ``reduction``) and ``AdaptivePadding`` as mmdetection
2.28's ``models/utils/transformer.py`` (parameter names, shapes and arithmetic equal; only the
parameter-free ``adap_padding`` attribute is spelled ``adaptive_padding``), so they are used as
they are. Importing that mmcv module warns that mmcv-lite lacks the compiled
``MultiScaleDeformableAttention``; nothing here uses it, so that one warning is silenced.

Shapes: ``N`` images, ``L = H * W`` tokens, ``C`` channels; ``nlc`` is (N, L, C), ``nchw`` is
(N, C, H, W).
"""
import warnings
from typing import Sequence

from torch import Tensor

with warnings.catch_warnings():
    warnings.filterwarnings('ignore', message='.*MultiScaleDeformableAttention.*')
    from mmcv.cnn.bricks.drop import DropPath, build_dropout
    from mmcv.cnn.bricks.transformer import FFN, AdaptivePadding, PatchEmbed, PatchMerging

__all__ = ['FFN', 'AdaptivePadding', 'PatchEmbed', 'PatchMerging', 'DropPath', 'build_dropout',
           'nlc_to_nchw', 'nchw_to_nlc']


def nlc_to_nchw(x: Tensor, hw_shape: Sequence[int]) -> Tensor:
    """(N, H * W, C) tokens → (N, C, H, W) map."""
    h, w = hw_shape
    if x.dim() != 3 or x.shape[1] != h * w:
        raise ValueError(f'nlc_to_nchw: tokens of shape {tuple(x.shape)} do not form a '
                         f'{h}x{w} map (need (N, {h * w}, C))')
    return x.transpose(1, 2).reshape(x.shape[0], x.shape[2], h, w).contiguous()


def nchw_to_nlc(x: Tensor) -> Tensor:
    """(N, C, H, W) map → (N, H * W, C) tokens."""
    if x.dim() != 4:
        raise ValueError(f'nchw_to_nlc needs an (N, C, H, W) map, got shape {tuple(x.shape)}')
    return x.flatten(2).transpose(1, 2).contiguous()
