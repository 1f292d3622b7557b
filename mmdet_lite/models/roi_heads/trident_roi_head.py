"""TridentNet's RoI head (Li et al., 2019): the box head runs on the RoIs of every branch; at
test time each image's per-branch detections are merged by one more class-wise NMS.

Shapes: ``B`` running branches (``num_branch`` in training or with ``test_branch_idx=-1``,
else 1), ``N`` images; the detector passes ``B * N`` proposal lists and image metas, branch
major (branch ``b`` of image ``i`` at ``b * N + i``), as the trident backbone stacks them.
"""
from typing import List, Optional

import torch

from ...core import batched_nms, bbox2result
from ..builder import HEADS
from .standard_roi_head import StandardRoIHead

Tensor = torch.Tensor


@HEADS.register_module()
class TridentRoIHead(StandardRoIHead):
    """StandardRoIHead whose test merges the branches (box head only, as 2.x).

    Args:
        num_branch: branches of the trident backbone.
        test_branch_idx: the branch the backbone runs in eval mode (-1: all).
        **kwargs: StandardRoIHead's arguments (``bbox_roi_extractor``, ``bbox_head``,
            ``shared_head``, ``train_cfg``, ``test_cfg``, ...).
    """

    def __init__(self, num_branch: int, test_branch_idx: int, **kwargs):
        self.num_branch = num_branch
        self.test_branch_idx = test_branch_idx
        super().__init__(**kwargs)

    def merge_trident_bboxes(self, trident_det_bboxes: Tensor, trident_det_labels: Tensor):
        """Of one image: class-wise NMS (``test_cfg.nms``) over the branches' (n, 5) boxes and
        (n,) labels, at most ``test_cfg.max_per_img`` kept, by decreasing score."""
        if trident_det_bboxes.numel() == 0:
            return (trident_det_bboxes.new_zeros((0, 5)),
                    trident_det_bboxes.new_zeros((0, ), dtype=torch.long))
        det_bboxes, keep = batched_nms(trident_det_bboxes[:, :4],
                                       trident_det_bboxes[:, 4].contiguous(),
                                       trident_det_labels, self.test_cfg['nms'])
        det_labels = trident_det_labels[keep]
        if self.test_cfg['max_per_img'] > 0:
            det_labels = det_labels[:self.test_cfg['max_per_img']]
            det_bboxes = det_bboxes[:self.test_cfg['max_per_img']]
        return det_bboxes, det_labels

    def simple_test(self, x: List[Tensor], proposal_list: List[Tensor], img_metas: List[dict],
                    proposals: Optional[List[Tensor]] = None, rescale: bool = False) -> list:
        """Per image ``bbox_results`` (list over classes of (n, 5) arrays); ``img_metas`` and
        ``proposal_list`` hold ``B * N`` entries, branch major."""
        if self.with_mask:
            raise NotImplementedError('TridentRoIHead tests the box branch only (as 2.x); '
                                      'remove mask_head')
        det_bboxes_list, det_labels_list = self.simple_test_bboxes(
            x, img_metas, proposal_list, self.test_cfg, rescale=rescale)
        num_branch = self.num_branch if self.test_branch_idx == -1 else 1
        num_imgs = len(img_metas) // num_branch
        results = []
        for i in range(num_imgs):
            branches = range(i, len(img_metas), num_imgs)
            det_bboxes, det_labels = self.merge_trident_bboxes(
                torch.cat([det_bboxes_list[j].reshape(-1, 5) for j in branches]),
                torch.cat([det_labels_list[j] for j in branches]))
            results.append(bbox2result(det_bboxes, det_labels, self.bbox_head.num_classes))
        return results
