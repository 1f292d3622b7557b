"""MaskPointHead: PointRend's point classifier (mmdetection 2.x): an MLP (1x1 Conv1d layers)
over points, on fine-grained FPN features concatenated with the coarse mask's logits.

Shapes: ``K`` RoIs, ``C`` classes, ``P`` points, ``F`` = ``in_channels``.
"""
from typing import Dict, List, Optional, Union

import torch
from mmengine.model import BaseModule
from torch import Tensor, nn

from ...builder import HEADS, build_loss
from ...layers.point_sample import point_sample, rel_roi_point_to_rel_img_point
from ...utils.conv_module import ConvModule
from ...utils.point_sample import get_uncertain_point_coords_with_randomness, get_uncertainty


@HEADS.register_module()
class MaskPointHead(BaseModule):
    """``fcs`` (``num_fcs`` 1x1 ``ConvModule``s over points) and ``fc_logits``.

    Args:
        num_classes: classes (logit channels unless ``class_agnostic``).
        num_fcs / in_channels / fc_channels: the MLP.
        class_agnostic: one logit per point.
        coarse_pred_each_layer: concatenate the coarse logits after every layer.
        conv_cfg / norm_cfg / act_cfg: of the layers (``Conv1d`` by default).
        loss_point: ``CrossEntropyLoss(use_mask=True)``.
        init_cfg: 2.x's default, Normal(std=0.001) on ``fc_logits``.
    """

    def __init__(self, num_classes: int, num_fcs: int = 3, in_channels: int = 256,
                 fc_channels: int = 256, class_agnostic: bool = False,
                 coarse_pred_each_layer: bool = True, conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = None, act_cfg: Optional[dict] = None,
                 loss_point: Optional[dict] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None):
        if conv_cfg is None:
            conv_cfg = dict(type='Conv1d')
        if act_cfg is None:
            act_cfg = dict(type='ReLU')
        if loss_point is None:
            loss_point = dict(type='CrossEntropyLoss', use_mask=True, loss_weight=1.0)
        if init_cfg is None:
            init_cfg = dict(type='Normal', std=0.001, override=dict(name='fc_logits'))
        super().__init__(init_cfg)
        self.num_fcs = num_fcs
        self.in_channels = in_channels
        self.fc_channels = fc_channels
        self.num_classes = num_classes
        self.class_agnostic = class_agnostic
        self.coarse_pred_each_layer = coarse_pred_each_layer
        self.conv_cfg = conv_cfg
        self.norm_cfg = norm_cfg
        self.loss_point = build_loss(dict(loss_point))
        fc_in_channels = in_channels + num_classes
        self.fcs = nn.ModuleList()
        for _ in range(num_fcs):
            self.fcs.append(ConvModule(fc_in_channels, fc_channels, kernel_size=1, stride=1,
                                       padding=0, conv_cfg=conv_cfg, norm_cfg=norm_cfg,
                                       act_cfg=act_cfg))
            fc_in_channels = fc_channels + (num_classes if coarse_pred_each_layer else 0)
        self.fc_logits = nn.Conv1d(fc_in_channels, 1 if class_agnostic else num_classes,
                                   kernel_size=1, stride=1, padding=0)

    def forward(self, fine_grained_feats: Tensor, coarse_feats: Tensor) -> Tensor:
        """Fine features (K, F, P) and coarse logits (K, C, P) -> point logits (K, C, P)."""
        x = torch.cat([fine_grained_feats, coarse_feats], dim=1)
        for fc in self.fcs:
            x = fc(x)
            if self.coarse_pred_each_layer:
                x = torch.cat((x, coarse_feats), dim=1)
        return self.fc_logits(x)

    def get_targets(self, rois: Tensor, rel_roi_points: Tensor, sampling_results: list,
                    gt_masks: list, cfg) -> Tensor:
        """The GT mask values (K, P) at the points ``rel_roi_points`` (K, P, 2) of the
        positive ``rois`` (K, 5), bilinearly sampled from each RoI's GT mask."""
        point_targets = []
        for batch_ind, (res, masks) in enumerate(zip(sampling_results, gt_masks)):
            inds = rois[:, 0] == batch_ind
            point_targets.append(self._get_target_single(rois[inds], rel_roi_points[inds],
                                                         res.pos_assigned_gt_inds, masks, cfg))
        return torch.cat(point_targets) if point_targets else rois.new_zeros(0, cfg.num_points)

    def _get_target_single(self, rois: Tensor, rel_roi_points: Tensor,
                           pos_assigned_gt_inds: Tensor, gt_masks, cfg) -> Tensor:
        """Of one image: targets (k, P) of its k positive RoIs."""
        if rois.size(0) == 0:
            return rois.new_zeros((0, cfg.num_points))
        gt_masks_th = gt_masks.to_tensor(rois.dtype, rois.device).index_select(
            0, pos_assigned_gt_inds).unsqueeze(1)
        rel_img_points = rel_roi_point_to_rel_img_point(rois, rel_roi_points, gt_masks_th)
        return point_sample(gt_masks_th, rel_img_points).squeeze(1)

    def loss(self, point_pred: Tensor, point_targets: Tensor,
             labels: Tensor) -> Dict[str, Tensor]:
        """``loss_point``: BCE of each RoI's own class (class 0 when class-agnostic)."""
        if self.class_agnostic:
            labels = torch.zeros_like(labels)
        return dict(loss_point=self.loss_point(point_pred, point_targets, labels))

    def get_roi_rel_points_train(self, mask_pred: Tensor, labels: Tensor, cfg) -> Tensor:
        """Training points (K, P, 2): uncertain points with randomness (``cfg.num_points``,
        ``oversample_ratio``, ``importance_sample_ratio``)."""
        return get_uncertain_point_coords_with_randomness(
            mask_pred, labels, cfg.num_points, cfg.oversample_ratio, cfg.importance_sample_ratio)

    def get_roi_rel_points_test(self, mask_pred: Tensor, pred_label: Tensor, cfg):
        """The ``cfg.subdivision_num_points`` most uncertain cells of ``mask_pred``
        (K, C, h, w): their flat indices (K, P) in the h x w grid and their centres (K, P, 2) in
        [0, 1] x [0, 1]."""
        uncertainty_map = get_uncertainty(mask_pred, pred_label)
        num_rois, _, mask_height, mask_width = uncertainty_map.shape
        h_step = 1.0 / mask_height
        w_step = 1.0 / mask_width
        mask_size = int(mask_height * mask_width)
        num_points = min(mask_size, cfg.subdivision_num_points)
        point_indices = uncertainty_map.view(num_rois, mask_size).topk(num_points, dim=1)[1]
        xs = w_step / 2.0 + (point_indices % mask_width).float() * w_step
        ys = h_step / 2.0 + (point_indices // mask_width).float() * h_step
        return point_indices, torch.stack([xs, ys], dim=2)
