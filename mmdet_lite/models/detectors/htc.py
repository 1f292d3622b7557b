"""Hybrid Task Cascade (Chen et al., arXiv:1901.07518): a :class:`CascadeRCNN` whose RoI head is
a :class:`~mmdet_lite.models.roi_heads.HybridTaskCascadeRoIHead`; its ``forward_train`` takes
``gt_semantic_seg`` for the semantic branch."""
from ..builder import DETECTORS
from .cascade_rcnn import CascadeRCNN


@DETECTORS.register_module()
class HybridTaskCascade(CascadeRCNN):
    """Implementation of `HTC <https://arxiv.org/abs/1901.07518>`_ (arguments of
    :class:`CascadeRCNN`)."""

    @property
    def with_semantic(self) -> bool:
        """Whether the RoI head has a semantic branch."""
        return self.roi_head.with_semantic
