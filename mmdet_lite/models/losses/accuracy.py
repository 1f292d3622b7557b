"""Top-k classification accuracy (in percent)."""
from typing import List, Optional, Tuple, Union

import torch
from torch import Tensor, nn


def accuracy(pred: Tensor, target: Tensor, topk: Union[int, Tuple[int, ...]] = 1,
             thresh: Optional[float] = None) -> Union[Tensor, List[Tensor]]:
    """Top-k accuracy in percent.

    Args:
        pred: (n, C) scores.
        target: (n,) labels.
        topk: k, or a tuple of k's.
        thresh: a prediction also needs a score above this to count as correct.

    Returns:
        a (1,) tensor for an int ``topk`` (a 0-dim 0 when n == 0), else a list of them.
    """
    if not isinstance(topk, (int, tuple)):
        raise TypeError(f'accuracy: topk must be an int or a tuple of ints, got {topk!r}')
    return_single = isinstance(topk, int)
    topk = (topk, ) if return_single else topk
    maxk = max(topk)
    if pred.size(0) == 0:
        accu = [pred.new_tensor(0.) for _ in range(len(topk))]
        return accu[0] if return_single else accu
    if pred.ndim != 2 or target.ndim != 1 or pred.size(0) != target.size(0):
        raise ValueError(f'accuracy: pred must be (n, C) and target (n,), got '
                         f'{tuple(pred.shape)} and {tuple(target.shape)}')
    if maxk > pred.size(1):
        raise ValueError(f'accuracy: top-{maxk} needs at least {maxk} classes, pred has '
                         f'{pred.size(1)}')
    pred_value, pred_label = pred.topk(maxk, dim=1)
    pred_label = pred_label.t()
    correct = pred_label.eq(target.view(1, -1).expand_as(pred_label))
    if thresh is not None:
        correct = correct & (pred_value > thresh).t()
    res = []
    for k in topk:
        correct_k = correct[:k].reshape(-1).float().sum(0, keepdim=True)
        res.append(correct_k.mul_(100.0 / pred.size(0)))
    return res[0] if return_single else res


class Accuracy(nn.Module):
    """Module form of :func:`accuracy`."""

    def __init__(self, topk: Union[int, Tuple[int, ...]] = (1, ),
                 thresh: Optional[float] = None) -> None:
        super().__init__()
        self.topk = topk
        self.thresh = thresh

    def forward(self, pred: Tensor, target: Tensor) -> Union[Tensor, List[Tensor]]:
        """Top-k accuracy of (n, C) ``pred`` against (n,) ``target``."""
        return accuracy(pred, target, self.topk, self.thresh)
