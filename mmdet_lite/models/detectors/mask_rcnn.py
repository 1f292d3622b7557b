"""Mask R-CNN (He et al., 2017): a :class:`TwoStageDetector` whose RoI head has a mask branch."""
from typing import Optional

from ..builder import DETECTORS
from .two_stage import TwoStageDetector


@DETECTORS.register_module()
class MaskRCNN(TwoStageDetector):
    """Implementation of `Mask R-CNN <https://arxiv.org/abs/1703.06870>`_."""

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
