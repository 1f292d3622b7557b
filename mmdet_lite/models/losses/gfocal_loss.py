"""Generalized focal losses of GFL (Li et al., NeurIPS 2020, arXiv:2006.04388): the quality
focal loss (joint class-IoU score) and the distribution focal loss (box-side distribution)."""
from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mmdet_lite.registry import MODELS
from .utils import resolve_reduction, weighted_loss


def _quality_focal(pred: Tensor, target: Sequence[Tensor], beta: float, prob: Tensor,
                   bce) -> Tensor:
    """(n,) QFL summed over classes; ``prob`` is ``pred`` as probabilities and ``bce`` the
    matching binary cross entropy (of logits or of probabilities)."""
    if len(target) != 2:
        raise ValueError('quality focal loss: target must be (labels (n,), scores (n,)), got '
                         f'{len(target)} elements')
    label, score = target
    # negatives of every class: BCE against 0, scaled by |0 - p|^beta
    loss = bce(pred, torch.zeros_like(pred), reduction='none') * prob.pow(beta)
    num_classes = pred.size(1)
    pos = torch.nonzero((label >= 0) & (label < num_classes), as_tuple=False).squeeze(1)
    pos_label = label[pos].long()
    # the positive's own class: BCE against its IoU score, scaled by |score - p|^beta
    scale = (score[pos] - prob[pos, pos_label]).abs().pow(beta)
    loss[pos, pos_label] = bce(pred[pos, pos_label], score[pos], reduction='none') * scale
    return loss.sum(dim=1)


@weighted_loss
def quality_focal_loss(pred: Tensor, target: Sequence[Tensor], beta: float = 2.0) -> Tensor:
    """(n,) quality focal loss of logits ``pred`` (n, C).

    Args:
        pred: (n, C) logits.
        target: ``(labels, scores)``: (n,) labels in [0, C] (C = background) and (n,) IoU
            quality targets in [0, 1] of the positives.
        beta: the focusing exponent of ``|score - sigmoid(pred)|``.
    """
    return _quality_focal(pred, target, beta, pred.sigmoid(), F.binary_cross_entropy_with_logits)


@weighted_loss
def quality_focal_loss_with_prob(pred: Tensor, target: Sequence[Tensor],
                                 beta: float = 2.0) -> Tensor:
    """(n,) quality focal loss of probabilities ``pred`` (n, C) (already activated); see
    :func:`quality_focal_loss`."""
    return _quality_focal(pred, target, beta, pred, F.binary_cross_entropy)


@weighted_loss
def distribution_focal_loss(pred: Tensor, label: Tensor) -> Tensor:
    """(n,) distribution focal loss.

    The continuous target ``y`` in [0, n_bins - 1) lies between the integer bins
    ``l = floor(y)`` and ``l + 1``; the loss is the cross entropy of both, weighted by their
    linear-interpolation weights ``(l + 1 - y)`` and ``(y - l)``.

    Args:
        pred: (n, n_bins) logits of the discretised distance.
        label: (n,) continuous target distances.
    """
    left = label.long()
    right = left + 1
    weight_left = right.float() - label
    weight_right = label - left.float()
    return (F.cross_entropy(pred, left, reduction='none') * weight_left +
            F.cross_entropy(pred, right, reduction='none') * weight_right)


@MODELS.register_module()
class QualityFocalLoss(nn.Module):
    """Quality focal loss.

    Args:
        use_sigmoid: must be True (only the sigmoid form exists).
        beta: focusing exponent.
        reduction: 'none', 'mean' or 'sum'.
        loss_weight: multiplier of the loss.
        activated: ``pred`` holds probabilities rather than logits.
    """

    def __init__(self, use_sigmoid: bool = True, beta: float = 2.0, reduction: str = 'mean',
                 loss_weight: float = 1.0, activated: bool = False) -> None:
        super().__init__()
        if use_sigmoid is not True:
            raise ValueError('QualityFocalLoss: only the sigmoid form exists; set '
                             'use_sigmoid=True')
        self.use_sigmoid = use_sigmoid
        self.beta = beta
        self.reduction = reduction
        self.loss_weight = loss_weight
        self.activated = activated

    def forward(self, pred: Tensor, target: Sequence[Tensor], weight: Optional[Tensor] = None,
                avg_factor: Optional[float] = None,
                reduction_override: Optional[str] = None) -> Tensor:
        """Loss of ``pred`` (n, C) against ``(labels (n,), scores (n,))``; ``weight`` (n,)."""
        reduction = resolve_reduction(reduction_override, self.reduction)
        loss_func = quality_focal_loss_with_prob if self.activated else quality_focal_loss
        return self.loss_weight * loss_func(pred, target, weight, beta=self.beta,
                                            reduction=reduction, avg_factor=avg_factor)


@MODELS.register_module()
class DistributionFocalLoss(nn.Module):
    """Distribution focal loss.

    Args:
        reduction: 'none', 'mean' or 'sum'.
        loss_weight: multiplier of the loss.
    """

    def __init__(self, reduction: str = 'mean', loss_weight: float = 1.0) -> None:
        super().__init__()
        self.reduction = reduction
        self.loss_weight = loss_weight

    def forward(self, pred: Tensor, target: Tensor, weight: Optional[Tensor] = None,
                avg_factor: Optional[float] = None,
                reduction_override: Optional[str] = None) -> Tensor:
        """Loss of ``pred`` (n, n_bins) logits against continuous ``target`` (n,) in
        [0, n_bins - 1); ``weight`` (n,)."""
        reduction = resolve_reduction(reduction_override, self.reduction)
        return self.loss_weight * distribution_focal_loss(pred, target, weight,
                                                          reduction=reduction,
                                                          avg_factor=avg_factor)
