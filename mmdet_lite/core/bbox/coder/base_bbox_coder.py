"""Base class of box coders."""
from abc import ABCMeta, abstractmethod

from torch import Tensor


class BaseBBoxCoder(metaclass=ABCMeta):
    """A box coder turns (prior, target box) pairs into regression targets and back."""

    @abstractmethod
    def encode(self, bboxes: Tensor, gt_bboxes: Tensor) -> Tensor:
        """Encode ``gt_bboxes`` relative to ``bboxes``."""

    @abstractmethod
    def decode(self, bboxes: Tensor, bboxes_pred: Tensor) -> Tensor:
        """Decode the predicted ``bboxes_pred`` relative to ``bboxes``."""
