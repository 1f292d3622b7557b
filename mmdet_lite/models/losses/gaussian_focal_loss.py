"""Focal loss on Gaussian heatmaps (CornerNet, CenterNet: Law & Deng, ECCV 2018)."""
from typing import Optional

from torch import Tensor, nn

from mmdet_lite.registry import MODELS
from .utils import resolve_reduction, weighted_loss


@weighted_loss
def gaussian_focal_loss(pred: Tensor, gaussian_target: Tensor, alpha: float = 2.0,
                        gamma: float = 4.0) -> Tensor:
    """Element-wise focal loss of heatmap probabilities ``pred`` against a Gaussian target.

    Peaks (target == 1) are positives: ``-log(p) (1 - p)^alpha``; every other location is a
    negative whose penalty ``-log(1 - p) p^alpha`` is reduced by ``(1 - target)^gamma`` near a
    peak.

    Args:
        pred: heatmap probabilities (already activated), any shape.
        gaussian_target: the Gaussian heatmap target, same shape.
        alpha, gamma: the focusing exponents.
    """
    eps = 1e-12
    pos_weights = gaussian_target.eq(1)
    neg_weights = (1 - gaussian_target).pow(gamma)
    pos_loss = -(pred + eps).log() * (1 - pred).pow(alpha) * pos_weights
    neg_loss = -(1 - pred + eps).log() * pred.pow(alpha) * neg_weights
    return pos_loss + neg_loss


@MODELS.register_module()
class GaussianFocalLoss(nn.Module):
    """Focal loss on Gaussian heatmaps.

    Args:
        alpha: focusing exponent of the prediction.
        gamma: exponent of ``1 - target`` that relaxes negatives near a peak.
        reduction: 'none', 'mean' or 'sum'.
        loss_weight: multiplier of the loss.
    """

    def __init__(self, alpha: float = 2.0, gamma: float = 4.0, reduction: str = 'mean',
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        self.alpha = alpha
        self.gamma = gamma
        self.reduction = reduction
        self.loss_weight = loss_weight

    def forward(self, pred: Tensor, target: Tensor, weight: Optional[Tensor] = None,
                avg_factor: Optional[float] = None,
                reduction_override: Optional[str] = None) -> Tensor:
        """Loss of heatmap probabilities ``pred`` against the Gaussian ``target`` (same
        shape); ``weight`` element-wise."""
        reduction = resolve_reduction(reduction_override, self.reduction)
        return self.loss_weight * gaussian_focal_loss(pred, target, weight, alpha=self.alpha,
                                                      gamma=self.gamma, reduction=reduction,
                                                      avg_factor=avg_factor)
