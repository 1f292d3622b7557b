"""Identity box coder: heads that regress absolute boxes."""
from torch import Tensor

from mmdet_lite.registry import TASK_UTILS
from .base_bbox_coder import BaseBBoxCoder


@TASK_UTILS.register_module()
class PseudoBBoxCoder(BaseBBoxCoder):
    """Identity coder: ``encode`` returns the targets, ``decode`` the predictions unchanged."""

    def encode(self, bboxes: Tensor, gt_bboxes: Tensor) -> Tensor:
        """The targets ``gt_bboxes`` themselves."""
        return gt_bboxes

    def decode(self, bboxes: Tensor, pred_bboxes: Tensor) -> Tensor:
        """The predictions ``pred_bboxes`` themselves."""
        return pred_bboxes
