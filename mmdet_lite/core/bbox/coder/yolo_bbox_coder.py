"""YOLOv3 box coder: centre offset within the cell and log-scale of the anchor size."""
from typing import Union

import torch
from torch import Tensor

from mmdet_lite.registry import TASK_UTILS
from .base_bbox_coder import BaseBBoxCoder


@TASK_UTILS.register_module()
class YOLOBBoxCoder(BaseBBoxCoder):
    """Encode xyxy boxes as (cx, cy, dw, dh) relative to anchors.

    ``cx = (gx - px) / stride + 0.5`` (clamped to [eps, 1 - eps]: the centre's position in the
    anchor's cell when the anchor is centred in it), likewise cy; ``dw = log(gw / pw)`` (ratio
    clamped below at eps), likewise dh. Decoding takes cx, cy as given (the head applies the
    sigmoid).

    Args:
        eps: lower clamp of the encoded centre and of the size ratio.
    """

    def __init__(self, eps: float = 1e-6) -> None:
        self.eps = eps

    def encode(self, bboxes: Tensor, gt_bboxes: Tensor, stride: Union[Tensor, int]) -> Tensor:
        """(N, 4) anchors and targets, with per-anchor (N,) or common stride -> (N, 4)."""
        if bboxes.size(0) != gt_bboxes.size(0) or bboxes.size(-1) != 4 or gt_bboxes.size(-1) != 4:
            raise ValueError(f'YOLOBBoxCoder.encode needs (N, 4) anchors and targets, got '
                             f'{tuple(bboxes.shape)} and {tuple(gt_bboxes.shape)}')
        gt_cx = (gt_bboxes[..., 0] + gt_bboxes[..., 2]) * 0.5
        gt_cy = (gt_bboxes[..., 1] + gt_bboxes[..., 3]) * 0.5
        gt_w = gt_bboxes[..., 2] - gt_bboxes[..., 0]
        gt_h = gt_bboxes[..., 3] - gt_bboxes[..., 1]
        cx = (bboxes[..., 0] + bboxes[..., 2]) * 0.5
        cy = (bboxes[..., 1] + bboxes[..., 3]) * 0.5
        w = bboxes[..., 2] - bboxes[..., 0]
        h = bboxes[..., 3] - bboxes[..., 1]
        w_target = torch.log((gt_w / w).clamp(min=self.eps))
        h_target = torch.log((gt_h / h).clamp(min=self.eps))
        cx_target = ((gt_cx - cx) / stride + 0.5).clamp(self.eps, 1 - self.eps)
        cy_target = ((gt_cy - cy) / stride + 0.5).clamp(self.eps, 1 - self.eps)
        return torch.stack([cx_target, cy_target, w_target, h_target], dim=-1)

    def decode(self, bboxes: Tensor, pred_bboxes: Tensor, stride: Union[Tensor, int]) -> Tensor:
        """(..., 4) anchors and (..., 4) predictions (cx, cy, dw, dh) -> (..., 4) xyxy boxes;
        ``stride`` is a number or broadcasts against (..., 1)."""
        if pred_bboxes.size(-1) != 4 or bboxes.size(-1) != 4:
            raise ValueError(f'YOLOBBoxCoder.decode needs (..., 4) anchors and predictions, got '
                             f'{tuple(bboxes.shape)} and {tuple(pred_bboxes.shape)}')
        xy_centers = (bboxes[..., :2] + bboxes[..., 2:]) * 0.5 + (pred_bboxes[..., :2] -
                                                                  0.5) * stride
        half_whs = (bboxes[..., 2:] - bboxes[..., :2]) * 0.5 * pred_bboxes[..., 2:].exp()
        return torch.cat([xy_centers - half_whs, xy_centers + half_whs], dim=-1)
