"""TridentNet (Li et al., 2019): Faster R-CNN on a ``TridentResNet`` whose last stage runs
``num_branch`` weight-sharing branches. Every image is one sample per running branch: training
repeats its metas and ground truth per branch; testing merges the branches' detections
(``TridentRoIHead``). Batches are branch major (branch ``b`` of image ``i`` at ``b * N + i``).
"""
from typing import Dict, List, Optional

from torch import Tensor

from ..builder import DETECTORS
from .faster_rcnn import FasterRCNN


@DETECTORS.register_module()
class TridentFasterRCNN(FasterRCNN):
    """Faster R-CNN with a trident backbone and ``TridentRoIHead``; arguments as FasterRCNN's,
    the backbone's and the RoI head's ``num_branch`` / ``test_branch_idx`` must agree."""

    def __init__(self, backbone: dict, rpn_head: dict, roi_head: dict,
                 train_cfg: Optional[dict], test_cfg: Optional[dict],
                 neck: Optional[dict] = None, pretrained: Optional[str] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(backbone=backbone, neck=neck, rpn_head=rpn_head, roi_head=roi_head,
                         train_cfg=train_cfg, test_cfg=test_cfg, pretrained=pretrained,
                         init_cfg=init_cfg)
        for key in ('num_branch', 'test_branch_idx'):
            if getattr(self.backbone, key, None) != getattr(self.roi_head, key, None):
                raise ValueError(f'TridentFasterRCNN: backbone.{key}='
                                 f'{getattr(self.backbone, key, None)} and roi_head.{key}='
                                 f'{getattr(self.roi_head, key, None)} must be equal')
        self.num_branch = self.backbone.num_branch
        self.test_branch_idx = self.backbone.test_branch_idx

    def simple_test(self, img: Tensor, img_metas: List[dict],
                    proposals: Optional[List[Tensor]] = None, rescale: bool = False) -> list:
        """Per-image results of one batch ``img`` (N, C, H, W)."""
        x = self.extract_feat(img)
        num_branch = self.num_branch if self.test_branch_idx == -1 else 1
        trident_img_metas = img_metas * num_branch
        if proposals is None:
            proposal_list = self.rpn_head.simple_test_rpn(x, trident_img_metas)
        else:
            proposal_list = proposals * num_branch
        return self.roi_head.simple_test(x, proposal_list, trident_img_metas, rescale=rescale)

    def aug_test(self, imgs: List[Tensor], img_metas: List[List[dict]],
                 rescale: bool = False) -> list:
        """Test-time augmentation with the one test branch (``test_branch_idx >= 0``)."""
        if self.test_branch_idx == -1:
            raise NotImplementedError('TridentFasterRCNN.aug_test runs one branch; set '
                                      'test_branch_idx (backbone and roi_head) to 0, 1 or 2')
        return super().aug_test(imgs, img_metas, rescale=rescale)

    def forward_train(self, img: Tensor, img_metas: List[dict], gt_bboxes: List[Tensor],
                      gt_labels: List[Tensor], gt_bboxes_ignore: Optional[List[Tensor]] = None,
                      **kwargs) -> Dict[str, Tensor]:
        """FasterRCNN's losses on every (branch, image) pair: metas and ground truth repeated
        per branch, in the branch-major order of the backbone's output."""
        n = self.num_branch
        return super().forward_train(
            img, img_metas * n, gt_bboxes * n, gt_labels * n,
            gt_bboxes_ignore=None if gt_bboxes_ignore is None else gt_bboxes_ignore * n,
            **kwargs)
