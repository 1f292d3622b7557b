"""Base class of assigners."""
from abc import ABCMeta, abstractmethod
from typing import Optional

from torch import Tensor

from .assign_result import AssignResult


class BaseAssigner(metaclass=ABCMeta):
    """An assigner matches priors / proposals with ground-truth boxes."""

    @abstractmethod
    def assign(self, bboxes: Tensor, gt_bboxes: Tensor, gt_bboxes_ignore: Optional[Tensor] = None,
               gt_labels: Optional[Tensor] = None) -> AssignResult:
        """Assign a ground truth (or background / ignore) to each of ``bboxes``."""
