"""The result of assigning ground-truth boxes to priors / proposals."""
from typing import Any, Dict, Optional, Union

import numpy as np
import torch
from torch import Tensor


class AssignResult:
    """Which ground truth each of ``num_preds`` priors is assigned to.

    Attributes:
        num_gts: number of ground-truth boxes.
        gt_inds: (num_preds,) long: ``i + 1`` for the i-th GT (1-based), 0 for negative
            (background), -1 for ignored.
        max_overlaps: (num_preds,) IoU with the assigned GT (highest IoU over GTs).
        labels: (num_preds,) long class of the assigned GT, -1 where none; or None when the
            assigner was not given labels.
    """

    def __init__(self, num_gts: int, gt_inds: Tensor, max_overlaps: Tensor,
                 labels: Optional[Tensor] = None) -> None:
        self.num_gts = num_gts
        self.gt_inds = gt_inds
        self.max_overlaps = max_overlaps
        self.labels = labels
        self._extra_properties: Dict[str, Any] = {}

    @classmethod
    def random(cls, num_preds: Optional[int] = None, num_gts: Optional[int] = None,
               p_ignore: float = 0.3, p_assigned: float = 0.7, p_use_label: float = 0.5,
               num_classes: int = 3,
               rng: Union[None, int, np.random.RandomState] = None) -> 'AssignResult':
        """A random, valid assignment (2.x's test helper for corner cases such as no GT or no
        prior): each prior is assigned with ``p_assigned`` to a random GT, else ignored with
        ``p_ignore``, else negative; labels (or None, with ``1 - p_use_label``) in
        ``[0, num_classes)``. ``rng``: a seed or a ``RandomState``."""
        rng = rng if isinstance(rng, np.random.RandomState) else np.random.RandomState(rng)
        num_gts = rng.randint(0, 8) if num_gts is None else num_gts
        num_preds = rng.randint(0, 16) if num_preds is None else num_preds
        draw = rng.rand(num_preds)
        gt_inds = np.zeros(num_preds, dtype=np.int64)
        if num_gts > 0:
            assigned = draw < p_assigned
            gt_inds[assigned] = rng.randint(1, num_gts + 1, size=int(assigned.sum()))
            gt_inds[~assigned & (rng.rand(num_preds) < p_ignore)] = -1
        max_overlaps = np.where(gt_inds > 0, rng.rand(num_preds), 0.0).astype(np.float32)
        labels = None
        if rng.rand() < p_use_label:
            labels = np.where(gt_inds > 0, rng.randint(0, num_classes, size=num_preds), -1)
            labels = torch.from_numpy(labels.astype(np.int64))
        return cls(num_gts, torch.from_numpy(gt_inds), torch.from_numpy(max_overlaps), labels)

    @property
    def num_preds(self) -> int:
        """Number of priors / proposals assigned."""
        return len(self.gt_inds)

    def set_extra_property(self, key: str, value: Any) -> None:
        """Attach an extra (assigner-specific) result under ``key``."""
        if key in self.info:
            raise KeyError(f"AssignResult already has a property '{key}'")
        self._extra_properties[key] = value

    def get_extra_property(self, key: str) -> Any:
        """The extra result under ``key`` (KeyError if it was never set)."""
        if key not in self._extra_properties:
            raise KeyError(f"AssignResult has no extra property '{key}'; set ones: "
                           f'{sorted(self._extra_properties)}')
        return self._extra_properties[key]

    @property
    def info(self) -> Dict[str, Any]:
        """All attributes as a dict."""
        basic = {
            'num_gts': self.num_gts,
            'num_preds': self.num_preds,
            'gt_inds': self.gt_inds,
            'max_overlaps': self.max_overlaps,
            'labels': self.labels,
        }
        basic.update(self._extra_properties)
        return basic

    def add_gt_(self, gt_labels: Tensor) -> None:
        """Prepend the ground truths themselves as positive predictions (in place).

        Args:
            gt_labels: (num_gts,) labels of the ground truths.
        """
        self_inds = torch.arange(1, len(gt_labels) + 1, dtype=torch.long,
                                 device=gt_labels.device)
        self.gt_inds = torch.cat([self_inds, self.gt_inds])
        self.max_overlaps = torch.cat([self.max_overlaps.new_ones(len(gt_labels)),
                                       self.max_overlaps])
        if self.labels is not None:
            self.labels = torch.cat([gt_labels, self.labels])

    def __repr__(self) -> str:
        parts = [f'num_gts={self.num_gts}', f'num_preds={self.num_preds}']
        for name in ('gt_inds', 'max_overlaps', 'labels'):
            value = getattr(self, name)
            parts.append(f'{name}.shape={tuple(value.shape)}' if value is not None
                         else f'{name}=None')
        return f'<AssignResult({", ".join(parts)})>'
