"""MaskIoUHead: Mask Scoring R-CNN's head that predicts the IoU of each predicted mask with its
object's ground-truth mask (Huang et al., arXiv:1903.00241).

Shapes: ``P`` RoIs, ``D`` mask-feature channels, ``(h, w)`` the pooled RoI size (14x14),
``(2h, 2w)`` the mask logits size, ``C`` classes.
"""
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
import torch
from mmengine.model import BaseModule
from torch import Tensor, nn
from torch.nn.modules.utils import _pair

from ...builder import HEADS, build_loss

_DEFAULT_INIT = [
    dict(type='Kaiming', override=dict(name='convs')),
    dict(type='Caffe2Xavier', override=dict(name='fcs')),
    dict(type='Normal', std=0.01, override=dict(name='fc_mask_iou')),
]


@HEADS.register_module()
class MaskIoUHead(BaseModule):
    """Predicts, per class, the IoU of a RoI's mask with its object's full GT mask.

    The mask probabilities are max-pooled to the RoI feature size and concatenated to the mask
    features as one more channel; ``num_convs`` 3x3 convs (the last with stride 2), ``num_fcs``
    fully connected layers and ``fc_mask_iou`` follow.

    Args:
        num_convs / num_fcs: the conv and fc layers.
        roi_feat_size: side of the mask RoI features.
        in_channels / conv_out_channels / fc_out_channels: layer widths.
        num_classes: ``C``; ``fc_mask_iou`` predicts one IoU per class.
        loss_iou: regression loss on positive targets (``MSELoss``, weight 0.5).
    """

    def __init__(self,
                 num_convs: int = 4,
                 num_fcs: int = 2,
                 roi_feat_size: int = 14,
                 in_channels: int = 256,
                 conv_out_channels: int = 256,
                 fc_out_channels: int = 1024,
                 num_classes: int = 80,
                 loss_iou: dict = dict(type='MSELoss', loss_weight=0.5),
                 init_cfg: Optional[Union[dict, List[dict]]] = _DEFAULT_INIT):
        super().__init__(init_cfg)
        self.in_channels = in_channels
        self.conv_out_channels = conv_out_channels
        self.fc_out_channels = fc_out_channels
        self.num_classes = num_classes
        self.fp16_enabled = False

        self.convs = nn.ModuleList([
            nn.Conv2d(in_channels + 1 if i == 0 else conv_out_channels, conv_out_channels, 3,
                      stride=2 if i == num_convs - 1 else 1, padding=1)
            for i in range(num_convs)])
        feat_h, feat_w = _pair(roi_feat_size)
        pooled_area = (feat_h // 2) * (feat_w // 2)
        self.fcs = nn.ModuleList([
            nn.Linear(conv_out_channels * pooled_area if i == 0 else fc_out_channels,
                      fc_out_channels) for i in range(num_fcs)])
        self.fc_mask_iou = nn.Linear(fc_out_channels, num_classes)
        self.relu = nn.ReLU()
        self.max_pool = nn.MaxPool2d(2, 2)
        self.loss_iou = build_loss(loss_iou)

    def forward(self, mask_feat: Tensor, mask_pred: Tensor) -> Tensor:
        """Mask features (P, D, h, w) and the logits of each RoI's own class (P, 2h, 2w) →
        predicted IoUs (P, C)."""
        pooled = self.max_pool(mask_pred.sigmoid().unsqueeze(1))
        x = torch.cat((mask_feat, pooled), 1)
        for conv in self.convs:
            x = self.relu(conv(x))
        x = x.flatten(1)
        for fc in self.fcs:
            x = self.relu(fc(x))
        return self.fc_mask_iou(x)

    def loss(self, mask_iou_pred: Tensor, mask_iou_targets: Tensor) -> Dict[str, Tensor]:
        """``loss_mask_iou`` on the RoIs with a positive target ((P,) predictions of the RoIs'
        own classes and (P,) targets); a graph-keeping zero when there is none."""
        pos = mask_iou_targets > 0
        if pos.any():
            loss = self.loss_iou(mask_iou_pred[pos], mask_iou_targets[pos])
        else:
            loss = mask_iou_pred.sum() * 0
        return dict(loss_mask_iou=loss)

    def get_targets(self, sampling_results: Sequence, gt_masks: Sequence, mask_pred: Tensor,
                    mask_targets: Tensor, rcnn_train_cfg) -> Tensor:
        """IoU targets (P,) of the positive RoIs of every image.

        The IoU is between the binarised predicted mask (``mask_pred`` (P, 2h, 2w) logits
        thresholded at ``rcnn_train_cfg.mask_thr_binary``, as 2.x: on the logits) and the
        object's whole GT mask: the intersection is counted inside the RoI (``mask_targets``
        (P, 2h, 2w)), the GT area is the area inside the RoI divided by the share of the
        object that lies inside the RoI (:meth:`_get_area_ratio`).
        """
        area_ratios = torch.cat([
            self._get_area_ratio(res.pos_bboxes, res.pos_assigned_gt_inds, masks)
            for res, masks in zip(sampling_results, gt_masks)])
        if area_ratios.numel() != mask_targets.size(0):
            raise ValueError(f'{mask_targets.size(0)} mask targets for {area_ratios.numel()} '
                             'positive RoIs; get them from the same sampling results')
        mask_pred = (mask_pred > rcnn_train_cfg['mask_thr_binary']).float()
        pred_areas = mask_pred.sum((-1, -2))
        overlap = (mask_pred * mask_targets).sum((-1, -2))
        gt_full_areas = mask_targets.sum((-1, -2)) / (area_ratios + 1e-7)
        return overlap / (pred_areas + gt_full_areas - overlap)

    def _get_area_ratio(self, pos_proposals: Tensor, pos_assigned_gt_inds: Tensor,
                        gt_masks) -> Tensor:
        """Of one image: for each positive RoI (P_i, 4), the area of its GT mask inside the
        RoI (corners truncated to integers, as 2.x) over the GT mask's whole area → (P_i,)."""
        num_pos = pos_proposals.size(0)
        if num_pos == 0:
            return pos_proposals.new_zeros((0, ))
        boxes = pos_proposals.detach().cpu().numpy().astype(np.int32)
        gt_inds = pos_assigned_gt_inds.cpu().numpy()
        full_areas = gt_masks.areas
        ratios = [gt_masks[int(k)].crop(box).areas[0] / (full_areas[k] + 1e-7)
                  for box, k in zip(boxes, gt_inds)]
        return torch.from_numpy(np.stack(ratios)).float().to(pos_proposals.device)

    def get_mask_scores(self, mask_iou_pred: Tensor, det_bboxes: Tensor,
                        det_labels: Tensor) -> List[np.ndarray]:
        """Of one image: ``mask_scores[c]`` (n_c,), box score times the predicted IoU of the
        detection's class, for the class-c detections (``mask_iou_pred`` (n, C),
        ``det_bboxes`` (n, 5), ``det_labels`` (n,))."""
        inds = torch.arange(det_labels.size(0), device=det_labels.device)
        scores = (mask_iou_pred[inds, det_labels] * det_bboxes[inds, -1]).cpu().numpy()
        labels = det_labels.cpu().numpy()
        return [scores[labels == c] for c in range(self.num_classes)]
