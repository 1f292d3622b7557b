"""PointRend (Kirillov et al., CVPR 2020): Mask R-CNN whose masks are refined point by point
(``PointRendRoIHead``)."""
from typing import Optional

from ..builder import DETECTORS
from .two_stage import TwoStageDetector


@DETECTORS.register_module()
class PointRend(TwoStageDetector):
    """Implementation of `PointRend <https://arxiv.org/abs/1912.08193>`_."""

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
