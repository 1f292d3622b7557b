"""Seesaw loss for long-tailed instance segmentation (Wang et al., CVPR 2021,
arXiv:2008.10032).

The classifier predicts ``C + 2`` logits per RoI: ``C`` class logits and a 2-way objectness
(foreground, background). The class logits get a softmax CE whose negative logits are
re-scaled by a mitigation factor (rarely-seen classes are not punished by frequent ones) and
a compensation factor (misclassified negatives are punished more).
"""
from typing import Dict, Optional, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mmdet_lite.registry import MODELS
from .accuracy import accuracy
from .cross_entropy_loss import cross_entropy
from .utils import resolve_reduction, weight_reduce_loss
from ...core.utils.errors import ConfigValueError


def seesaw_ce_loss(cls_score: Tensor, labels: Tensor, label_weights: Optional[Tensor],
                   cum_samples: Tensor, num_classes: int, p: float, q: float, eps: float,
                   reduction: str = 'mean', avg_factor: Optional[float] = None) -> Tensor:
    """Seesaw cross entropy of the class logits.

    Args:
        cls_score: (n, C) class logits of foreground RoIs.
        labels: (n,) their labels in [0, C).
        label_weights: (n,) sample weights, or None.
        cum_samples: (C,) number of samples of each class seen so far.
        num_classes: C.
        p: exponent of the mitigation factor ``(N_j / N_i)^p`` for ``N_j < N_i``.
        q: exponent of the compensation factor ``(sigma_j / sigma_i)^q`` for
            ``sigma_j > sigma_i`` (softmax scores).
        eps: lower bound of the score of the true class in the compensation ratio.
        reduction, avg_factor: see :func:`weight_reduce_loss`.
    """
    if cls_score.size(-1) != num_classes or len(cum_samples) != num_classes:
        raise ValueError(f'seesaw_ce_loss: cls_score {tuple(cls_score.shape)} and cum_samples '
                         f'({len(cum_samples)}) must both have num_classes={num_classes} entries')
    onehot = F.one_hot(labels, num_classes)
    seesaw_weights = cls_score.new_ones(onehot.size())
    if p > 0:
        # ratio[i, j] = N_j / N_i: penalise class j less for a sample of a more frequent class i
        ratio = cum_samples[None, :].clamp(min=1) / cum_samples[:, None].clamp(min=1)
        mitigation = torch.where(ratio < 1.0, ratio.pow(p), torch.ones_like(ratio))
        seesaw_weights = seesaw_weights * mitigation[labels.long(), :]
    if q > 0:
        scores = F.softmax(cls_score.detach(), dim=1)
        self_scores = scores[torch.arange(len(scores), device=scores.device), labels.long()]
        score_ratio = scores / self_scores[:, None].clamp(min=eps)
        compensation = torch.where(score_ratio > 1.0, score_ratio.pow(q),
                                   torch.ones_like(score_ratio))
        seesaw_weights = seesaw_weights * compensation
    # the weight multiplies exp(logit) of the negatives: add its log to their logits
    cls_score = cls_score + seesaw_weights.log() * (1 - onehot)
    loss = F.cross_entropy(cls_score, labels, weight=None, reduction='none')
    if label_weights is not None:
        label_weights = label_weights.float()
    return weight_reduce_loss(loss, weight=label_weights, reduction=reduction,
                              avg_factor=avg_factor)


@MODELS.register_module()
class SeesawLoss(nn.Module):
    """Seesaw loss on ``C + 2`` logits (``C`` classes, then objectness fg / bg).

    The buffer ``cum_samples`` (C + 1,) counts the labels seen in training (index C is the
    background) and is part of the state dict.

    Args:
        use_sigmoid: must be False (softmax only).
        p: mitigation exponent.
        q: compensation exponent.
        num_classes: C.
        eps: lower bound of the true-class score in the compensation ratio.
        reduction: 'none', 'mean' or 'sum'.
        loss_weight: multiplier of the loss.
        return_dict: return ``{'loss_cls_objectness', 'loss_cls_classes'}`` instead of their
            sum.
    """

    def __init__(self, use_sigmoid: bool = False, p: float = 0.8, q: float = 2.0,
                 num_classes: int = 1203, eps: float = 1e-2, reduction: str = 'mean',
                 loss_weight: float = 1.0, return_dict: bool = True) -> None:
        super().__init__()
        if use_sigmoid:
            raise ConfigValueError(
                'SeesawLoss: only the softmax form exists; set use_sigmoid=False')
        self.use_sigmoid = False
        self.p = p
        self.q = q
        self.num_classes = num_classes
        self.eps = eps
        self.reduction = reduction
        self.loss_weight = loss_weight
        self.return_dict = return_dict
        self.cls_criterion = seesaw_ce_loss
        self.register_buffer('cum_samples', torch.zeros(self.num_classes + 1, dtype=torch.float))
        # the bbox head asks these to size fc_cls, turn logits into scores and log accuracy
        self.custom_cls_channels = True
        self.custom_activation = True
        self.custom_accuracy = True

    def _split_cls_score(self, cls_score: Tensor) -> Tuple[Tensor, Tensor]:
        """(..., C + 2) -> class logits (..., C) and objectness logits (..., 2)."""
        if cls_score.size(-1) != self.num_classes + 2:
            raise ConfigValueError(
                f'SeesawLoss: cls_score has {cls_score.size(-1)} channels; expected '
                f'num_classes + 2 = {self.num_classes + 2} (set the bbox head\'s '
                'num_classes equal to the loss\'s)')
        return cls_score[..., :-2], cls_score[..., -2:]

    def get_cls_channels(self, num_classes: int) -> int:
        """Number of classifier outputs for ``num_classes`` classes: C + 2."""
        if num_classes != self.num_classes:
            raise ValueError(f'SeesawLoss: the head has num_classes={num_classes} but the loss '
                             f'num_classes={self.num_classes}; set both to the same value')
        return num_classes + 2

    def get_activation(self, cls_score: Tensor) -> Tensor:
        """(..., C + 2) logits -> (..., C + 1) scores: class softmax times the foreground
        probability, then the background probability."""
        cls_score_classes, cls_score_objectness = self._split_cls_score(cls_score)
        score_classes = F.softmax(cls_score_classes, dim=-1)
        score_objectness = F.softmax(cls_score_objectness, dim=-1)
        score_pos = score_objectness[..., [0]]
        score_neg = score_objectness[..., [1]]
        return torch.cat([score_classes * score_pos, score_neg], dim=-1)

    def get_accuracy(self, cls_score: Tensor, labels: Tensor) -> Dict[str, Tensor]:
        """``acc_objectness`` over all RoIs and ``acc_classes`` over the foreground ones."""
        pos_inds = labels < self.num_classes
        obj_labels = (labels == self.num_classes).long()
        cls_score_classes, cls_score_objectness = self._split_cls_score(cls_score)
        return dict(acc_objectness=accuracy(cls_score_objectness, obj_labels),
                    acc_classes=accuracy(cls_score_classes[pos_inds], labels[pos_inds]))

    def forward(self, cls_score: Tensor, labels: Tensor, label_weights: Optional[Tensor] = None,
                avg_factor: Optional[float] = None, reduction_override: Optional[str] = None
                ) -> Union[Tensor, Dict[str, Tensor]]:
        """Loss of ``cls_score`` (n, C + 2) against ``labels`` (n,) in [0, C]; counts the
        labels into ``cum_samples`` first.

        Returns:
            ``{'loss_cls_objectness', 'loss_cls_classes'}`` or, without ``return_dict``, their
            sum.
        """
        reduction = resolve_reduction(reduction_override, self.reduction)
        cls_score_classes, cls_score_objectness = self._split_cls_score(cls_score)
        pos_inds = labels < self.num_classes
        obj_labels = (labels == self.num_classes).long()
        self.cum_samples += torch.bincount(labels, minlength=self.num_classes + 1).to(
            self.cum_samples.dtype)
        if label_weights is not None:
            label_weights = label_weights.float()
        else:
            label_weights = labels.new_ones(labels.size(), dtype=torch.float)
        if pos_inds.sum() > 0:
            loss_cls_classes = self.loss_weight * self.cls_criterion(
                cls_score_classes[pos_inds], labels[pos_inds], label_weights[pos_inds],
                self.cum_samples[:self.num_classes], self.num_classes, self.p, self.q, self.eps,
                reduction, avg_factor)
        else:
            loss_cls_classes = cls_score_classes[pos_inds].sum()
        loss_cls_objectness = self.loss_weight * cross_entropy(
            cls_score_objectness, obj_labels, label_weights, reduction, avg_factor)
        if self.return_dict:
            return dict(loss_cls_objectness=loss_cls_objectness,
                        loss_cls_classes=loss_cls_classes)
        return loss_cls_classes + loss_cls_objectness
