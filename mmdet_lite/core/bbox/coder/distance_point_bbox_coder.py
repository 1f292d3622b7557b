"""Point-to-sides box coder of FCOS-style heads (GFL, TOOD, YOLOX, ...)."""
from typing import Optional, Sequence, Union

from torch import Tensor

from mmdet_lite.registry import TASK_UTILS
from ..transforms import bbox2distance, distance2bbox
from .base_bbox_coder import BaseBBoxCoder


@TASK_UTILS.register_module()
class DistancePointBBoxCoder(BaseBBoxCoder):
    """Encode xyxy boxes as the distances (left, top, right, bottom) from a point to the box
    sides, and decode them back.

    Args:
        clip_border: clip decoded boxes to ``max_shape`` when it is given.
    """

    def __init__(self, clip_border: bool = True) -> None:
        self.clip_border = clip_border

    def encode(self, points: Tensor, gt_bboxes: Tensor, max_dis: Optional[float] = None,
               eps: float = 0.1) -> Tensor:
        """(N, 2) points and (N, 4) boxes -> (N, 4) distances, clamped to
        [0, max_dis - eps] when ``max_dis`` is given."""
        if points.size(0) != gt_bboxes.size(0) or points.size(-1) != 2 or gt_bboxes.size(-1) != 4:
            raise ValueError(f'DistancePointBBoxCoder.encode needs (N, 2) points and (N, 4) '
                             f'boxes, got {tuple(points.shape)} and {tuple(gt_bboxes.shape)}')
        return bbox2distance(points, gt_bboxes, max_dis, eps)

    def decode(self, points: Tensor, pred_bboxes: Tensor,
               max_shape: Optional[Union[Sequence[int], Sequence[Sequence[int]], Tensor]] = None
               ) -> Tensor:
        """(N, 2) or (B, N, 2) points and (..., 4) distances -> (..., 4) xyxy boxes, clipped to
        ``max_shape`` (h, w[, c]), or one shape per image for batched input, when
        ``clip_border``."""
        if (points.size(0) != pred_bboxes.size(0) or points.size(-1) != 2
                or pred_bboxes.size(-1) != 4):
            raise ValueError(f'DistancePointBBoxCoder.decode needs (..., N, 2) points and '
                             f'(..., N, 4) distances, got {tuple(points.shape)} and '
                             f'{tuple(pred_bboxes.shape)}')
        return distance2bbox(points, pred_bboxes, max_shape if self.clip_border else None)
