"""Loss reduction helpers: element-wise weights, 'none'/'mean'/'sum', and ``avg_factor``."""
import functools
from typing import Callable, Optional

import torch
from torch import Tensor

from ...core.utils.errors import ConfigValueError

_REDUCTIONS = ('none', 'mean', 'sum')


def reduce_loss(loss: Tensor, reduction: str) -> Tensor:
    """Reduce an element-wise loss with 'none', 'mean' or 'sum'."""
    if reduction == 'none':
        return loss
    if reduction == 'mean':
        return loss.mean()
    if reduction == 'sum':
        return loss.sum()
    raise ValueError(f"reduction must be one of {_REDUCTIONS}, got '{reduction}'")


def weight_reduce_loss(loss: Tensor, weight: Optional[Tensor] = None, reduction: str = 'mean',
                       avg_factor: Optional[float] = None) -> Tensor:
    """Weight an element-wise loss, then reduce it.

    With ``avg_factor`` and ``reduction='mean'`` the result is ``sum(loss * weight) /
    avg_factor`` (e.g. the number of positives) instead of the element mean.

    Args:
        loss: element-wise loss.
        weight: element-wise weights broadcastable to ``loss``.
        reduction: 'none', 'mean' or 'sum'.
        avg_factor: divisor of the summed loss for 'mean'.
    """
    if weight is not None:
        loss = loss * weight
    if avg_factor is None:
        return reduce_loss(loss, reduction)
    if reduction == 'mean':
        # eps keeps avg_factor == 0 (no positives) from producing nan
        eps = torch.finfo(torch.float32).eps
        return loss.sum() / (avg_factor + eps)
    if reduction != 'none':
        raise ValueError('avg_factor can only be used with reduction="mean" (or "none"), got '
                         f'reduction="{reduction}"')
    return loss


def weighted_loss(loss_func: Callable) -> Callable:
    """Decorate an element-wise ``loss_func(pred, target, **kwargs)`` so that it also takes
    ``weight``, ``reduction`` and ``avg_factor``, as :func:`weight_reduce_loss` applies them.
    """

    @functools.wraps(loss_func)
    def wrapper(pred: Tensor, target: Tensor, weight: Optional[Tensor] = None,
                reduction: str = 'mean', avg_factor: Optional[float] = None,
                **kwargs) -> Tensor:
        loss = loss_func(pred, target, **kwargs)
        return weight_reduce_loss(loss, weight, reduction, avg_factor)

    return wrapper


def check_reduction_override(reduction_override: Optional[str]) -> None:
    """Raise unless ``reduction_override`` is None, 'none', 'mean' or 'sum'."""
    if reduction_override not in (None, ) + _REDUCTIONS:
        raise ConfigValueError(f'reduction_override must be None or one of {_REDUCTIONS}, got '
                         f"'{reduction_override}'")


def resolve_reduction(reduction_override: Optional[str], reduction: str) -> str:
    """Check ``reduction_override`` and return it, or the loss's own ``reduction`` when unset."""
    check_reduction_override(reduction_override)
    return reduction_override if reduction_override else reduction


def _prepare_weight(pred: Tensor, weight: Optional[Tensor]) -> Optional[Tensor]:
    """(n, 4) box weights -> (n,) by their mean (the loss is per box)."""
    if weight is not None and weight.dim() > 1:
        if weight.shape != pred.shape:
            raise ValueError(f'IoU losses: weight {tuple(weight.shape)} must be (n,) or the '
                             f'shape of pred {tuple(pred.shape)}')
        weight = weight.mean(-1)
    return weight


def _zero_loss(pred: Tensor, weight: Tensor) -> Tensor:
    # keeps the graph connected (for DDP) while contributing exactly 0
    if pred.dim() == weight.dim() + 1:
        weight = weight.unsqueeze(1)
    return (pred * weight).sum()
