"""Gradient harmonizing mechanism losses GHM-C and GHM-R (Li et al., AAAI 2019,
arXiv:1811.05181).

Examples are binned by their gradient norm ``g``; each one is weighted by the total number of
valid examples over the population of its bin (a moving average of it with ``momentum``),
so that the many easy examples and the few outliers do not dominate.
"""
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mmdet_lite.registry import MODELS
from .utils import resolve_reduction, weight_reduce_loss


def _expand_onehot_labels(labels: Tensor, label_weights: Tensor,
                          label_channels: int) -> Tuple[Tensor, Tensor]:
    """(n,) labels in [0, C] (C = background) -> (n, C) one-hot, and (n,) -> (n, C) weights."""
    bin_labels = labels.new_zeros((labels.size(0), label_channels))
    inds = torch.nonzero((labels >= 0) & (labels < label_channels), as_tuple=False).view(-1)
    bin_labels[inds, labels[inds]] = 1
    bin_label_weights = label_weights.view(-1, 1).expand(label_weights.size(0), label_channels)
    return bin_labels, bin_label_weights


class _GHMBase(nn.Module):
    """Bin edges (buffer ``edges``) and the optional moving bin counts (buffer ``acc_sum``)."""

    def __init__(self, bins: int, momentum: float, last_edge: float) -> None:
        super().__init__()
        if bins < 1:
            raise ValueError(f'{type(self).__name__}: bins must be >= 1, got {bins}')
        self.bins = bins
        self.momentum = momentum
        edges = torch.arange(bins + 1).float() / bins
        edges[-1] = last_edge
        self.register_buffer('edges', edges)
        if momentum > 0:
            self.register_buffer('acc_sum', torch.zeros(bins))

    def _density_weights(self, g: Tensor, valid: Tensor, tot: float) -> Tensor:
        """Weights of the elements of ``g`` (any shape): ``tot / count(bin) / non-empty bins``
        for valid elements, 0 elsewhere. Updates ``acc_sum`` with ``momentum``."""
        # bin i holds edges[i] <= g < edges[i + 1]; bin index `bins` means outside every bin
        bin_ids = torch.bucketize(g, self.edges, right=True) - 1
        in_bin = valid & (bin_ids >= 0) & (bin_ids < self.bins)
        # counts and tot / count in float64, rounded once, as 2.x's Python-scalar arithmetic
        counts = torch.bincount(bin_ids[in_bin], minlength=self.bins).double()
        non_empty = counts > 0
        bin_weight = g.new_zeros(self.bins)
        if self.momentum > 0:
            mmt = self.momentum
            self.acc_sum[non_empty] = (mmt * self.acc_sum[non_empty] +
                                       ((1 - mmt) * counts[non_empty]).to(self.acc_sum.dtype))
            bin_weight[non_empty] = tot / self.acc_sum[non_empty]
        else:
            bin_weight[non_empty] = (tot / counts[non_empty]).to(g.dtype)
        num_non_empty = int(non_empty.sum().item())
        if num_non_empty > 0:
            bin_weight = bin_weight / num_non_empty
        weights = torch.zeros_like(g)
        weights[in_bin] = bin_weight[bin_ids[in_bin]]
        return weights


@MODELS.register_module()
class GHMC(_GHMBase):
    """GHM classification loss (sigmoid BCE re-weighted by gradient density).

    Args:
        bins: number of gradient-norm bins on [0, 1].
        momentum: moving-average momentum of the bin populations (0: this batch only).
        use_sigmoid: must be True (only the sigmoid form exists).
        loss_weight: multiplier of the loss.
        reduction: 'none', 'mean' or 'sum'.
    """

    def __init__(self, bins: int = 10, momentum: float = 0, use_sigmoid: bool = True,
                 loss_weight: float = 1.0, reduction: str = 'mean') -> None:
        super().__init__(bins, momentum, last_edge=1 + 1e-6)
        if not use_sigmoid:
            raise ValueError('GHMC: only the sigmoid form exists; set use_sigmoid=True')
        self.use_sigmoid = use_sigmoid
        self.loss_weight = loss_weight
        self.reduction = reduction

    def forward(self, pred: Tensor, target: Tensor, label_weight: Tensor,
                reduction_override: Optional[str] = None,
                avg_factor: Optional[float] = None) -> Tensor:
        """Loss of ``pred`` (n, C) logits.

        Args:
            pred: (n, C) logits.
            target: (n,) labels in [0, C] (C = background) or (n, C) binary targets.
            label_weight: (n,) or (n, C); elements with weight 0 are ignored (the weight is
                otherwise unused: GHM computes its own).
            reduction_override: replaces the configured reduction.
            avg_factor: ignored; the loss is normalised by the number of valid elements
                (heads pass one for every classification loss).
        """
        reduction = resolve_reduction(reduction_override, self.reduction)
        if pred.dim() != target.dim():
            target, label_weight = _expand_onehot_labels(target, label_weight, pred.size(-1))
        target, label_weight = target.float(), label_weight.float()
        g = torch.abs(pred.sigmoid().detach() - target)
        valid = label_weight > 0
        tot = max(valid.float().sum().item(), 1.0)
        weights = self._density_weights(g, valid, tot)
        loss = F.binary_cross_entropy_with_logits(pred, target, reduction='none')
        loss = weight_reduce_loss(loss, weights, reduction=reduction, avg_factor=tot)
        return loss * self.loss_weight


@MODELS.register_module()
class GHMR(_GHMBase):
    """GHM regression loss: authentic smooth L1 ``sqrt(d^2 + mu^2) - mu`` re-weighted by
    gradient density.

    Args:
        mu: the smoothing parameter of the ASL1 loss.
        bins: number of gradient-norm bins on [0, 1].
        momentum: moving-average momentum of the bin populations (0: this batch only).
        loss_weight: multiplier of the loss.
        reduction: 'none', 'mean' or 'sum'.
    """

    def __init__(self, mu: float = 0.02, bins: int = 10, momentum: float = 0,
                 loss_weight: float = 1.0, reduction: str = 'mean') -> None:
        super().__init__(bins, momentum, last_edge=1e3)
        self.mu = mu
        self.loss_weight = loss_weight
        self.reduction = reduction

    def forward(self, pred: Tensor, target: Tensor, label_weight: Tensor,
                avg_factor: Optional[float] = None,
                reduction_override: Optional[str] = None) -> Tensor:
        """Loss of box deltas ``pred`` (n, 4) against ``target`` (n, 4).

        Args:
            label_weight: (n, 4); elements with weight 0 are ignored, and the loss is
                normalised by the sum of the weights.
            avg_factor: ignored (see above).
            reduction_override: replaces the configured reduction.
        """
        reduction = resolve_reduction(reduction_override, self.reduction)
        mu = self.mu
        diff = pred - target
        root = torch.sqrt(diff * diff + mu * mu)
        loss = root - mu
        g = torch.abs(diff / torch.sqrt(mu * mu + diff * diff)).detach()
        valid = label_weight > 0
        tot = max(label_weight.float().sum().item(), 1.0)
        weights = self._density_weights(g, valid, tot)
        loss = weight_reduce_loss(loss, weights, reduction=reduction, avg_factor=tot)
        return loss * self.loss_weight
