"""Sigmoid focal loss (RetinaNet), computed by ``torchvision.ops.sigmoid_focal_loss``."""
from typing import Optional

import torch.nn.functional as F
from torch import Tensor, nn
from torchvision.ops import sigmoid_focal_loss as tv_sigmoid_focal_loss

from mmdet_lite.registry import MODELS
from .utils import resolve_reduction, weight_reduce_loss


def _to_onehot(pred: Tensor, target: Tensor) -> Tensor:
    """(n,) labels in [0, C] (C = background) -> (n, C) one-hot targets like ``pred``."""
    if pred.dim() == target.dim():
        return target.type_as(pred)
    num_classes = pred.size(1)
    return F.one_hot(target, num_classes=num_classes + 1)[:, :num_classes].type_as(pred)


def _reshape_weight(weight: Optional[Tensor], loss: Tensor) -> Optional[Tensor]:
    """Per-sample (n,) or flat weights -> broadcastable to the (n, C) loss."""
    if weight is None or weight.shape == loss.shape:
        return weight
    if weight.size(0) == loss.size(0):
        weight = weight.view(-1, 1)
    else:
        if weight.numel() != loss.numel():
            raise ValueError(f'focal loss: weight of shape {tuple(weight.shape)} fits neither '
                             f'the samples nor the elements of the loss {tuple(loss.shape)}')
        weight = weight.view(loss.size(0), -1)
    return weight


def sigmoid_focal_loss(pred: Tensor, target: Tensor, weight: Optional[Tensor] = None,
                       gamma: float = 2.0, alpha: float = 0.25, reduction: str = 'mean',
                       avg_factor: Optional[float] = None) -> Tensor:
    """Sigmoid focal loss ``-alpha_t (1 - p_t)^gamma log(p_t)``.

    Args:
        pred: (n, C) logits.
        target: (n,) labels in [0, C] (C = background), or (n, C) one-hot targets.
        weight: (n,) per-sample or (n, C) element-wise weights.
        gamma: focusing parameter.
        alpha: weight of the positives (1 - alpha for negatives).
        reduction, avg_factor: see :func:`weight_reduce_loss`.
    """
    target = _to_onehot(pred, target)
    loss = tv_sigmoid_focal_loss(pred, target, alpha=alpha, gamma=gamma, reduction='none')
    return weight_reduce_loss(loss, _reshape_weight(weight, loss), reduction, avg_factor)


def py_focal_loss_with_prob(pred: Tensor, target: Tensor, weight: Optional[Tensor] = None,
                            gamma: float = 2.0, alpha: float = 0.25, reduction: str = 'mean',
                            avg_factor: Optional[float] = None) -> Tensor:
    """Focal loss of probabilities (already activated) ``pred`` (n, C); as above otherwise."""
    target = _to_onehot(pred, target)
    pt = (1 - pred) * target + pred * (1 - target)
    focal_weight = (alpha * target + (1 - alpha) * (1 - target)) * pt.pow(gamma)
    loss = F.binary_cross_entropy(pred, target, reduction='none') * focal_weight
    return weight_reduce_loss(loss, _reshape_weight(weight, loss), reduction, avg_factor)


@MODELS.register_module()
class FocalLoss(nn.Module):
    """Sigmoid focal loss.

    Args:
        use_sigmoid: must be True (only the sigmoid form exists).
        gamma: focusing parameter.
        alpha: weight of the positives.
        reduction: 'none', 'mean' or 'sum'.
        loss_weight: multiplier of the loss.
        activated: ``pred`` holds probabilities rather than logits.
    """

    def __init__(self, use_sigmoid: bool = True, gamma: float = 2.0, alpha: float = 0.25,
                 reduction: str = 'mean', loss_weight: float = 1.0,
                 activated: bool = False) -> None:
        super().__init__()
        if use_sigmoid is not True:
            raise ValueError('FocalLoss: only the sigmoid focal loss exists; set use_sigmoid=True')
        self.use_sigmoid = use_sigmoid
        self.gamma = gamma
        self.alpha = alpha
        self.reduction = reduction
        self.loss_weight = loss_weight
        self.activated = activated

    def forward(self, pred: Tensor, target: Tensor, weight: Optional[Tensor] = None,
                avg_factor: Optional[float] = None,
                reduction_override: Optional[str] = None) -> Tensor:
        """Loss of ``pred`` (n, C) against labels (n,) in [0, C] or one-hot (n, C) targets."""
        reduction = resolve_reduction(reduction_override, self.reduction)
        loss_func = py_focal_loss_with_prob if self.activated else sigmoid_focal_loss
        return self.loss_weight * loss_func(pred, target, weight, gamma=self.gamma,
                                            alpha=self.alpha, reduction=reduction,
                                            avg_factor=avg_factor)
