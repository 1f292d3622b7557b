"""Fold eval-mode BatchNorm into the preceding convolution, keeping the state dict as it is.

A conv followed by a BN in eval mode is one affine map; running it as one conv with
``W' = W * g / sqrt(v + eps)`` and ``b' = (b - m) * g / sqrt(v + eps) + beta`` saves a full pass
over the activations. Unlike mmcv's ``fuse_conv_bn`` (2.x's ``--fuse-conv-bn``), which replaces
each BN by an ``Identity`` and so drops its keys from ``state_dict()``, :func:`fold_batch_norms`
only swaps the classes of the two modules:

* the conv becomes a :class:`FoldedConv2d`: in eval-mode BN it convolves with the folded
  weights (cached, recomputed whenever a weight, a running statistic, the device or the memory
  format changes), otherwise it is a plain conv;
* the BN becomes a :class:`FoldedBatchNorm2d` (or ``FoldedSyncBatchNorm``): identity while it is
  in eval mode, an ordinary BN in training mode.

So ``state_dict()`` / ``load_state_dict()`` see the very same parameters and buffers, and a
folded model that is put back into training mode computes what the unfolded one does.
:func:`unfold_batch_norms` restores the original classes.

Only pairs whose order in ``forward`` is known are folded: consecutive children of an
``nn.Sequential``, the ``conv``/``norm`` of a ``ConvModule`` whose ``order`` puts the conv first,
and ``conv{i}`` / ``norm{i}`` of blocks that name them so (ResNet's stem, ``BasicBlock``,
``Bottleneck`` and their subclasses). Only exact ``nn.Conv2d`` (no weight-standardised,
deformable or other conv that overrides ``forward``) and exact ``nn.BatchNorm2d`` /
``nn.SyncBatchNorm`` with running statistics are folded.
"""
from typing import Dict, Iterator, List, Optional, Tuple

import torch
from torch import Tensor, nn

__all__ = ['FoldedConv2d', 'FoldedBatchNorm2d', 'FoldedSyncBatchNorm', 'fold_batch_norms',
           'unfold_batch_norms', 'count_folded']

_BN_ATTR = '_folded_bn'
_CACHE_ATTR = '_folded_cache'


def _is_channels_last(t: Tensor) -> bool:
    return t.dim() == 4 and not t.is_contiguous() and t.is_contiguous(
        memory_format=torch.channels_last)


def folded_conv_params(conv: nn.Conv2d, bn: nn.modules.batchnorm._BatchNorm,
                       exact: bool = True) -> Tuple[Tensor, Tensor]:
    """(weight (C_out, C_in / g, k_h, k_w), bias (C_out,)) of ``bn(conv(x))`` with ``bn`` in eval
    mode, computed in float64 (``exact``; else in the weight's dtype, as the differentiable
    fold of every training step is) and returned in the conv weight's dtype and memory format."""
    weight = conv.weight
    dtype = torch.float64 if exact else weight.dtype
    scale = bn.running_var.to(dtype).add(bn.eps).rsqrt()
    if bn.weight is not None:
        scale = scale * bn.weight.to(dtype)
    bias = -bn.running_mean.to(dtype)
    if conv.bias is not None:
        bias = bias + conv.bias.to(dtype)
    bias = bias * scale
    if bn.bias is not None:
        bias = bias + bn.bias.to(dtype)
    folded = (weight.to(dtype) * scale.view(-1, 1, 1, 1)).to(weight.dtype)
    folded = folded.contiguous(memory_format=torch.channels_last
                               if _is_channels_last(weight) else torch.contiguous_format)
    return folded, bias.to(weight.dtype)


class FoldedConv2d(nn.Conv2d):
    """An ``nn.Conv2d`` that convolves with its BN folded in while that BN is in eval mode."""

    def _folded(self) -> Tuple[Tensor, Tensor]:
        bn = self.__dict__[_BN_ATTR]
        tensors = [t for t in (self.weight, self.bias, bn.weight, bn.bias, bn.running_mean,
                               bn.running_var) if t is not None]
        if torch.is_grad_enabled() and any(t.requires_grad for t in tensors):
            # differentiable (training): no cache; float32 (float64 would add a conversion of
            # every weight to every forward and backward)
            return folded_conv_params(self, bn, exact=False)
        key = tuple((t.data_ptr(), t._version, t.dtype, t.stride()) for t in tensors)
        cache = self.__dict__.get(_CACHE_ATTR)
        if cache is None or cache[0] != key:
            with torch.no_grad():
                cache = (key, folded_conv_params(self, bn))
            self.__dict__[_CACHE_ATTR] = cache
        return cache[1]

    def forward(self, x: Tensor) -> Tensor:
        """(N, C_in, H, W) → (N, C_out, H', W'): ``bn(conv(x))`` when the BN is in eval mode
        (the BN then passes its input through), else ``conv(x)``."""
        if self.__dict__[_BN_ATTR].training:
            return super().forward(x)
        weight, bias = self._folded()
        return self._conv_forward(x, weight, bias)


class FoldedBatchNorm2d(nn.BatchNorm2d):
    """A BatchNorm2d folded into the conv before it: identity in eval mode."""

    def forward(self, x: Tensor) -> Tensor:
        return super().forward(x) if self.training else x


class FoldedSyncBatchNorm(nn.SyncBatchNorm):
    """A SyncBatchNorm folded into the conv before it: identity in eval mode."""

    def forward(self, x: Tensor) -> Tensor:
        return super().forward(x) if self.training else x


_FOLDED_BN: Dict[type, type] = {nn.BatchNorm2d: FoldedBatchNorm2d,
                                nn.SyncBatchNorm: FoldedSyncBatchNorm}
_ORIGINAL_BN: Dict[type, type] = {v: k for k, v in _FOLDED_BN.items()}


def _foldable(conv: Optional[nn.Module], bn: Optional[nn.Module]) -> bool:
    if type(conv) is not nn.Conv2d or type(bn) not in _FOLDED_BN:
        return False
    return (bn.track_running_stats and bn.running_mean is not None
            and bn.num_features == conv.out_channels)


def _candidate_pairs(module: nn.Module) -> Iterator[Tuple[nn.Module, nn.Module]]:
    """(conv, bn) pairs of ``module`` itself (not of its children) that run back to back."""
    if isinstance(module, nn.Sequential):
        children = list(module.children())
        yield from zip(children[:-1], children[1:])
        return
    order = getattr(module, 'order', None)
    if isinstance(order, (tuple, list)) and 'conv' in order and 'norm' in order:
        # mmcv's ConvModule: registered conv-then-norm whatever ``order`` says.
        if order.index('conv') < order.index('norm') and getattr(module, 'with_norm', False):
            yield module.conv, getattr(module, module.norm_name)
        return
    # ResNet's stem and blocks: conv{i} is followed by norm{i} (named by norm{i}_name).
    for i in range(1, 4):
        norm_name = getattr(module, f'norm{i}_name', None)
        conv = getattr(module, f'conv{i}', None)
        if isinstance(norm_name, str) and conv is not None:
            yield conv, getattr(module, norm_name, None)


def fold_batch_norms(model: nn.Module) -> int:
    """Fold every foldable (conv, BN) pair of ``model`` in place (see the module docstring).

    Returns the number of pairs folded by this call (pairs folded before are left alone).
    """
    folded = 0
    for module in model.modules():
        for conv, bn in _candidate_pairs(module):
            if not _foldable(conv, bn):
                continue
            conv.__class__ = FoldedConv2d
            conv.__dict__[_BN_ATTR] = bn
            bn.__class__ = _FOLDED_BN[type(bn)]
            folded += 1
    return folded


def count_folded(model: nn.Module) -> int:
    """Number of folded (conv, BN) pairs in ``model``."""
    return sum(isinstance(m, FoldedConv2d) for m in model.modules())


def unfold_batch_norms(model: nn.Module) -> int:
    """Undo :func:`fold_batch_norms`: original classes back; returns the pairs unfolded."""
    unfolded: List[nn.Module] = []
    for module in model.modules():
        if type(module) is FoldedConv2d:
            module.__class__ = nn.Conv2d
            module.__dict__.pop(_BN_ATTR, None)
            module.__dict__.pop(_CACHE_ATTR, None)
            unfolded.append(module)
        elif type(module) in _ORIGINAL_BN:
            module.__class__ = _ORIGINAL_BN[type(module)]
    return len(unfolded)
