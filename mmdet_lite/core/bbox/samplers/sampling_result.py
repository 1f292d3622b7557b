"""The positives and negatives a sampler picked out of the assigned priors / proposals."""
from typing import Any, Dict, Optional, Union

import numpy as np
import torch
from torch import Tensor

from ..assigners.assign_result import AssignResult


class SamplingResult:
    """Sampled positives / negatives of one image.

    Attributes:
        pos_inds: (P,) indices of the positives in ``bboxes`` (GTs first if they were added).
        neg_inds: (Q,) indices of the negatives.
        pos_bboxes: (P, 4) positive boxes.
        neg_bboxes: (Q, 4) negative boxes.
        pos_is_gt: (P,) uint8, 1 where the positive is a GT box added as a proposal.
        num_gts: number of ground truths.
        pos_assigned_gt_inds: (P,) 0-based index of the GT of each positive.
        pos_gt_bboxes: (P, 4) the GT box of each positive.
        pos_gt_labels: (P,) the GT label of each positive, or None if the assignment had none.
    """

    @classmethod
    def random(cls, rng: Union[None, int, np.random.RandomState] = None, num: int = 32,
               pos_fraction: float = 0.5, **kwargs) -> 'SamplingResult':
        """A random, valid sampling result (2.x's test helper): random xyxy boxes and GTs, a
        :meth:`AssignResult.random` assignment (``kwargs``: ``num_preds``, ``num_gts``, ...),
        then up to ``num * pos_fraction`` positives and the rest negatives drawn from it."""
        rng = rng if isinstance(rng, np.random.RandomState) else np.random.RandomState(rng)
        assign_result = AssignResult.random(rng=rng, **kwargs)

        def boxes(n: int) -> Tensor:
            xy = rng.rand(n, 2) * 100
            xyxy = np.hstack([xy, xy + 1 + rng.rand(n, 2) * 50])
            return torch.from_numpy(xyxy.astype(np.float32))

        bboxes, gt_bboxes = boxes(assign_result.num_preds), boxes(assign_result.num_gts)
        pos = np.flatnonzero(assign_result.gt_inds.numpy() > 0)
        neg = np.flatnonzero(assign_result.gt_inds.numpy() == 0)
        pos = rng.permutation(pos)[:int(num * pos_fraction)]
        neg = rng.permutation(neg)[:num - len(pos)]
        return cls(torch.from_numpy(np.sort(pos)), torch.from_numpy(np.sort(neg)), bboxes,
                   gt_bboxes, assign_result, torch.zeros(len(bboxes), dtype=torch.uint8))

    def __init__(self, pos_inds: Tensor, neg_inds: Tensor, bboxes: Tensor, gt_bboxes: Tensor,
                 assign_result: AssignResult, gt_flags: Tensor) -> None:
        self.pos_inds = pos_inds
        self.neg_inds = neg_inds
        self.pos_bboxes = bboxes[pos_inds]
        self.neg_bboxes = bboxes[neg_inds]
        self.pos_is_gt = gt_flags[pos_inds]

        self.num_gts = gt_bboxes.shape[0]
        self.pos_assigned_gt_inds = assign_result.gt_inds[pos_inds] - 1

        if gt_bboxes.numel() == 0:
            if self.pos_assigned_gt_inds.numel() != 0:
                raise ValueError('SamplingResult: positives were sampled for an image without '
                                 'ground truth; the assignment does not belong to these GTs')
            self.pos_gt_bboxes = torch.empty_like(gt_bboxes).view(-1, 4)
        else:
            if gt_bboxes.dim() < 2:
                gt_bboxes = gt_bboxes.view(-1, 4)
            self.pos_gt_bboxes = gt_bboxes[self.pos_assigned_gt_inds.long(), :]

        if assign_result.labels is not None:
            self.pos_gt_labels = assign_result.labels[pos_inds]
        else:
            self.pos_gt_labels = None

    @property
    def bboxes(self) -> Tensor:
        """(P + Q, 4) positives then negatives."""
        return torch.cat([self.pos_bboxes, self.neg_bboxes])

    def to(self, device: Any) -> 'SamplingResult':
        """Move every tensor attribute to ``device`` (in place); returns self."""
        for key, value in self.__dict__.items():
            if isinstance(value, torch.Tensor):
                self.__dict__[key] = value.to(device)
        return self

    @property
    def info(self) -> Dict[str, Any]:
        """The attributes as a dict."""
        return {
            'pos_inds': self.pos_inds,
            'neg_inds': self.neg_inds,
            'pos_bboxes': self.pos_bboxes,
            'neg_bboxes': self.neg_bboxes,
            'pos_is_gt': self.pos_is_gt,
            'num_gts': self.num_gts,
            'pos_assigned_gt_inds': self.pos_assigned_gt_inds,
        }

    def __repr__(self) -> str:
        return (f'<SamplingResult(num_pos={len(self.pos_inds)}, num_neg={len(self.neg_inds)}, '
                f'num_gts={self.num_gts})>')
