"""Knowledge-distillation KL divergence between softened class distributions (Hinton et
al., 2015), as used by LD (Zheng et al., CVPR 2022)."""
from typing import Optional

import torch.nn.functional as F
from torch import Tensor, nn

from mmdet_lite.registry import MODELS
from .utils import resolve_reduction, weighted_loss
from ...core.utils.errors import ConfigValueError


@weighted_loss
def knowledge_distillation_kl_div_loss(pred: Tensor, soft_label: Tensor, T: float,
                                       detach_target: bool = True) -> Tensor:
    """(n,) ``T^2 * mean_c KL(softmax(soft_label / T) || softmax(pred / T))``.

    Args:
        pred: (n, C) student logits.
        soft_label: (n, C) teacher logits.
        T: temperature.
        detach_target: stop the gradient into the teacher.
    """
    if pred.size() != soft_label.size():
        raise ConfigValueError(f'knowledge_distillation_kl_div_loss: pred {tuple(pred.shape)} and '
                               f'soft_label {tuple(soft_label.shape)} must have the same shape')
    target = F.softmax(soft_label / T, dim=1)
    if detach_target:
        target = target.detach()
    kl = F.kl_div(F.log_softmax(pred / T, dim=1), target, reduction='none')
    return kl.mean(1) * (T * T)


@MODELS.register_module()
class KnowledgeDistillationKLDivLoss(nn.Module):
    """KL divergence of softened student and teacher distributions.

    Args:
        reduction: 'none', 'mean' or 'sum'.
        loss_weight: multiplier of the loss.
        T: temperature (>= 1).
    """

    def __init__(self, reduction: str = 'mean', loss_weight: float = 1.0, T: float = 10) -> None:
        super().__init__()
        if T < 1:
            raise ConfigValueError(f'KnowledgeDistillationKLDivLoss: T must be >= 1, got {T}')
        self.reduction = reduction
        self.loss_weight = loss_weight
        self.T = T

    def forward(self, pred: Tensor, soft_label: Tensor, weight: Optional[Tensor] = None,
                avg_factor: Optional[float] = None,
                reduction_override: Optional[str] = None) -> Tensor:
        """Loss of student logits ``pred`` (n, C) against teacher logits ``soft_label``
        (n, C); ``weight`` (n,)."""
        reduction = resolve_reduction(reduction_override, self.reduction)
        return self.loss_weight * knowledge_distillation_kl_div_loss(
            pred, soft_label, weight, reduction=reduction, avg_factor=avg_factor, T=self.T)
