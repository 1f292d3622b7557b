"""Fast R-CNN (Girshick, arXiv:1504.08083): a :class:`TwoStageDetector` without an RPN, run on
pre-computed proposals (``proposal_file`` of the dataset, ``LoadProposals`` in the pipeline,
``proposals`` collected for the model)."""
from typing import Optional

from ..builder import DETECTORS
from .two_stage import TwoStageDetector


@DETECTORS.register_module()
class FastRCNN(TwoStageDetector):
    """Implementation of `Fast R-CNN <https://arxiv.org/abs/1504.08083>`_.

    ``forward_train`` and ``simple_test`` take ``proposals``: per image (K_i, 4 or 5) boxes
    in the network input's frame. Test-time augmentation is not supported (nor was it in 2.x).
    """

    def __init__(self,
                 backbone: dict,
                 roi_head: dict,
                 train_cfg: Optional[dict],
                 test_cfg: Optional[dict],
                 neck: Optional[dict] = None,
                 pretrained: Optional[str] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(backbone=backbone, neck=neck, roi_head=roi_head, train_cfg=train_cfg,
                         test_cfg=test_cfg, pretrained=pretrained, init_cfg=init_cfg)
