"""Grid R-CNN (Lu et al., arXiv:1811.12030; Grid R-CNN Plus, arXiv:1906.05688): a
:class:`TwoStageDetector` whose RoI head is a
:class:`~mmdet_lite.models.roi_heads.GridRoIHead`."""
from typing import Optional

from ..builder import DETECTORS
from .two_stage import TwoStageDetector


@DETECTORS.register_module()
class GridRCNN(TwoStageDetector):
    """Implementation of `Grid R-CNN <https://arxiv.org/abs/1811.12030>`_."""

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
