"""Mask Scoring R-CNN (Huang et al., arXiv:1903.00241): a :class:`TwoStageDetector` whose RoI
head is a :class:`~mmdet_lite.models.roi_heads.MaskScoringRoIHead`; each image's result is
``(bbox_results, (segm_results, mask_scores))``."""
from typing import Optional

from ..builder import DETECTORS
from .two_stage import TwoStageDetector


@DETECTORS.register_module()
class MaskScoringRCNN(TwoStageDetector):
    """Implementation of `Mask Scoring R-CNN <https://arxiv.org/abs/1903.00241>`_."""

    def __init__(self,
                 backbone: dict,
                 rpn_head: dict,
                 roi_head: dict,
                 train_cfg: Optional[dict],
                 test_cfg: Optional[dict],
                 neck: Optional[dict] = None,
                 pretrained: Optional[str] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(backbone=backbone, neck=neck, rpn_head=rpn_head, roi_head=roi_head,
                         train_cfg=train_cfg, test_cfg=test_cfg, pretrained=pretrained,
                         init_cfg=init_cfg)
