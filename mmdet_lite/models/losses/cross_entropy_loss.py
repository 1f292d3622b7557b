"""Cross-entropy losses: softmax, sigmoid (binary) and per-class mask BCE."""
from typing import List, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mmdet_lite.registry import MODELS
from .utils import resolve_reduction, weight_reduce_loss
from ...core.utils.errors import ConfigValueError


def cross_entropy(pred: Tensor, label: Tensor, weight: Optional[Tensor] = None,
                  reduction: str = 'mean', avg_factor: Optional[float] = None,
                  class_weight: Optional[Tensor] = None, ignore_index: Optional[int] = -100,
                  avg_non_ignore: bool = False) -> Tensor:
    """Softmax cross entropy.

    Args:
        pred: (n, C) logits.
        label: (n,) class indices.
        weight: (n,) per-sample weights.
        reduction: 'none', 'mean' or 'sum'.
        avg_factor: divisor of the summed loss for 'mean'.
        class_weight: (C,) per-class weights.
        ignore_index: label to ignore (None means -100).
        avg_non_ignore: average over the non-ignored samples only (when no avg_factor).
    """
    ignore_index = -100 if ignore_index is None else ignore_index
    loss = F.cross_entropy(pred, label, weight=class_weight, reduction='none',
                           ignore_index=ignore_index)
    if avg_factor is None and avg_non_ignore and reduction == 'mean':
        avg_factor = label.numel() - (label == ignore_index).sum().item()
    if weight is not None:
        weight = weight.float()
    return weight_reduce_loss(loss, weight=weight, reduction=reduction, avg_factor=avg_factor)


def _expand_onehot_labels(labels: Tensor, label_weights: Optional[Tensor], label_channels: int,
                          ignore_index: int) -> Tuple[Tensor, Tensor, Tensor]:
    """(n,) labels -> (n, C) one-hot (label C, the background, is all zero) and weights."""
    bin_labels = labels.new_full((labels.size(0), label_channels), 0)
    valid_mask = (labels >= 0) & (labels != ignore_index)
    inds = torch.nonzero(valid_mask & (labels < label_channels), as_tuple=False)
    if inds.numel() > 0:
        bin_labels[inds, labels[inds]] = 1
    valid_mask = valid_mask.view(-1, 1).expand(labels.size(0), label_channels).float()
    if label_weights is None:
        bin_label_weights = valid_mask
    else:
        bin_label_weights = label_weights.view(-1, 1).repeat(1, label_channels)
        bin_label_weights = bin_label_weights * valid_mask
    return bin_labels, bin_label_weights, valid_mask


def binary_cross_entropy(pred: Tensor, label: Tensor, weight: Optional[Tensor] = None,
                         reduction: str = 'mean', avg_factor: Optional[float] = None,
                         class_weight: Optional[Tensor] = None,
                         ignore_index: Optional[int] = -100,
                         avg_non_ignore: bool = False) -> Tensor:
    """Sigmoid (binary) cross entropy.

    Args:
        pred: (n, C) or (n, ...) logits.
        label: (n,) class indices (expanded to one-hot; index C means background), or
            targets of ``pred``'s shape.
        weight: per-sample (n,) or element-wise weights.
        reduction, avg_factor: see :func:`weight_reduce_loss`.
        class_weight: (C,) weight of the positive examples of each class (``pos_weight``).
        ignore_index: label to ignore (None means -100).
        avg_non_ignore: average over the non-ignored elements only (when no avg_factor).
    """
    ignore_index = -100 if ignore_index is None else ignore_index
    if pred.dim() != label.dim():
        label, weight, valid_mask = _expand_onehot_labels(label, weight, pred.size(-1),
                                                          ignore_index)
    else:
        valid_mask = ((label >= 0) & (label != ignore_index)).float()
        weight = valid_mask if weight is None else weight * valid_mask
    if avg_factor is None and avg_non_ignore and reduction == 'mean':
        avg_factor = valid_mask.sum().item()
    loss = F.binary_cross_entropy_with_logits(pred, label.float(), pos_weight=class_weight,
                                              reduction='none')
    return weight_reduce_loss(loss, weight.float(), reduction=reduction, avg_factor=avg_factor)


def mask_cross_entropy(pred: Tensor, target: Tensor, label: Tensor, reduction: str = 'mean',
                       avg_factor: Optional[float] = None,
                       class_weight: Optional[Tensor] = None,
                       ignore_index: Optional[int] = None, avg_non_ignore: bool = False
                       ) -> Tensor:
    """Binary cross entropy of each RoI's mask of its own class.

    Args:
        pred: (n, C, h, w) mask logits.
        target: (n, h, w) binary mask targets.
        label: (n,) class of each RoI (selects the channel of ``pred``).
        reduction: only 'mean' (the mean over all pixels of all RoIs).
        avg_factor: not supported.
        class_weight: per-element weight passed to BCE.
        ignore_index: not supported.
        avg_non_ignore: unused.

    Returns:
        (1,) loss.
    """
    if ignore_index is not None:
        raise ValueError('mask_cross_entropy does not support ignore_index; leave it None')
    if reduction != 'mean' or avg_factor is not None:
        raise ValueError('mask_cross_entropy supports only reduction="mean" without avg_factor')
    num_rois = pred.size(0)
    inds = torch.arange(0, num_rois, dtype=torch.long, device=pred.device)
    pred_slice = pred[inds, label].squeeze(1)
    return F.binary_cross_entropy_with_logits(pred_slice, target, weight=class_weight,
                                              reduction='mean')[None]


@MODELS.register_module()
class CrossEntropyLoss(nn.Module):
    """Cross-entropy loss: softmax (default), sigmoid (``use_sigmoid``) or mask BCE
    (``use_mask``).

    Args:
        use_sigmoid: per-class sigmoid BCE (labels one-hot expanded, C = background).
        use_mask: per-RoI mask BCE of the RoI's class; ``forward(pred, target, label)``.
        reduction: 'none', 'mean' or 'sum'.
        class_weight: per-class weights.
        ignore_index: label to ignore.
        loss_weight: multiplier of the loss.
        avg_non_ignore: average over non-ignored elements only.
    """

    def __init__(self, use_sigmoid: bool = False, use_mask: bool = False,
                 reduction: str = 'mean', class_weight: Optional[List[float]] = None,
                 ignore_index: Optional[int] = None, loss_weight: float = 1.0,
                 avg_non_ignore: bool = False) -> None:
        super().__init__()
        if use_sigmoid and use_mask:
            raise ConfigValueError('CrossEntropyLoss: use_sigmoid and use_mask cannot both be True')
        self.use_sigmoid = use_sigmoid
        self.use_mask = use_mask
        self.reduction = reduction
        self.loss_weight = loss_weight
        self.class_weight = class_weight
        self.ignore_index = ignore_index
        self.avg_non_ignore = avg_non_ignore
        if self.use_sigmoid:
            self.cls_criterion = binary_cross_entropy
        elif self.use_mask:
            self.cls_criterion = mask_cross_entropy
        else:
            self.cls_criterion = cross_entropy

    def extra_repr(self) -> str:
        return f'avg_non_ignore={self.avg_non_ignore}'

    def forward(self, cls_score: Tensor, label: Tensor, weight: Optional[Tensor] = None,
                avg_factor: Optional[float] = None, reduction_override: Optional[str] = None,
                ignore_index: Optional[int] = None) -> Tensor:
        """Loss of ``cls_score`` (n, C) against ``label`` (n,) (see the criterion functions
        for the mask form); ``weight`` per sample; ``reduction_override`` replaces the
        configured reduction."""
        reduction = resolve_reduction(reduction_override, self.reduction)
        if ignore_index is None:
            ignore_index = self.ignore_index
        class_weight = (cls_score.new_tensor(self.class_weight)
                        if self.class_weight is not None else None)
        return self.loss_weight * self.cls_criterion(
            cls_score, label, weight, class_weight=class_weight, reduction=reduction,
            avg_factor=avg_factor, ignore_index=ignore_index,
            avg_non_ignore=self.avg_non_ignore)
