"""Mean squared error loss."""
from typing import Optional

from torch import Tensor, nn

from mmdet_lite.registry import MODELS
from .utils import resolve_reduction, weighted_loss


@weighted_loss
def mse_loss(pred: Tensor, target: Tensor) -> Tensor:
    """Element-wise ``(pred - target)^2`` (same shapes)."""
    if pred.size() != target.size():
        raise ValueError(f'mse_loss: pred {tuple(pred.shape)} and target {tuple(target.shape)} '
                         'must have the same shape')
    return (pred - target)**2


@MODELS.register_module()
class MSELoss(nn.Module):
    """Mean squared error.

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
        """Loss of ``pred`` against ``target`` (same shape) with element-wise ``weight``."""
        reduction = resolve_reduction(reduction_override, self.reduction)
        return self.loss_weight * mse_loss(pred, target, weight, reduction=reduction,
                                           avg_factor=avg_factor)
