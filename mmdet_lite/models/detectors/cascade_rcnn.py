"""Cascade R-CNN (Cai and Vasconcelos, arXiv:1906.09756): a :class:`TwoStageDetector` whose RoI
head is a :class:`~mmdet_lite.models.roi_heads.CascadeRoIHead` (Cascade Mask R-CNN when that
head has mask heads)."""
from typing import Optional

from ..builder import DETECTORS
from .two_stage import TwoStageDetector


@DETECTORS.register_module()
class CascadeRCNN(TwoStageDetector):
    """Implementation of `Cascade R-CNN <https://arxiv.org/abs/1906.09756>`_.

    The cascade lives entirely in ``roi_head``: ``train_cfg.rcnn`` is a list of per-stage
    configs, handed to the RoI head as is.
    """

    def __init__(self,
                 backbone: dict,
                 neck: Optional[dict] = None,
                 rpn_head: Optional[dict] = None,
                 roi_head: Optional[dict] = None,
                 train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 pretrained: Optional[str] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(backbone=backbone, neck=neck, rpn_head=rpn_head, roi_head=roi_head,
                         train_cfg=train_cfg, test_cfg=test_cfg, pretrained=pretrained,
                         init_cfg=init_cfg)
