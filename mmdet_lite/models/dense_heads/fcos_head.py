"""FCOSHead: per-point classes, side distances and centerness (Tian et al., "FCOS", 2019).

Shape shorthand:
    N: images in the batch      L: FPN levels      C: classes (sigmoid, no background column)
    H_l, W_l: size of level l   P_l = H_l * W_l points of level l
"""
import copy
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor, nn

from ...core import multi_apply, reduce_mean
from ..builder import HEADS, build_loss
from ..layers.scale import Scale
from ..utils.gt_check import check_gt_bboxes
from .anchor_free_head import INF, AnchorFreeHead


@HEADS.register_module()
class FCOSHead(AnchorFreeHead):
    """``AnchorFreeHead`` plus a centerness branch ``conv_centerness`` and one learnable
    ``Scale`` per level on the box regression.

    Args:
        regress_ranges: per level ``(low, high)`` of the largest point-to-side distance.
        center_sampling: a point is positive only within ``center_sample_radius`` strides of
            its box's centre (FCOS-imprv).
        norm_on_bbox: regress distances in units of the level's stride, through ReLU instead of
            exp (multiplied back by the stride at test time).
        centerness_on_reg: the centerness branch sits on the regression tower (else on the
            classification tower).
        loss_centerness: loss config of the centerness (binary cross-entropy).
        Other arguments: :class:`AnchorFreeHead` (``norm_cfg`` defaults to GN(32)).

    Outputs per level: cls_score (N, C, H, W), bbox_pred (N, 4, H, W) distances in pixels
    (in strides with ``norm_on_bbox`` while training), centerness (N, 1, H, W) logits; the
    centerness multiplies the class scores at test time (``score_factors``).
    """

    def __init__(self, num_classes: int, in_channels: int,
                 regress_ranges: Sequence[Tuple[float, float]] = (
                     (-1, 64), (64, 128), (128, 256), (256, 512), (512, INF)),
                 center_sampling: bool = False, center_sample_radius: float = 1.5,
                 norm_on_bbox: bool = False, centerness_on_reg: bool = False,
                 loss_cls: Optional[dict] = None, loss_bbox: Optional[dict] = None,
                 loss_centerness: Optional[dict] = None,
                 norm_cfg: Optional[dict] = dict(type='GN', num_groups=32, requires_grad=True),
                 init_cfg: Optional[Union[dict, List[dict]]] = None, **kwargs):
        self.regress_ranges = regress_ranges
        self.center_sampling = center_sampling
        self.center_sample_radius = center_sample_radius
        self.norm_on_bbox = norm_on_bbox
        self.centerness_on_reg = centerness_on_reg
        if loss_centerness is None:
            loss_centerness = dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0)
        super().__init__(num_classes, in_channels, loss_cls=loss_cls, loss_bbox=loss_bbox,
                         norm_cfg=norm_cfg, init_cfg=init_cfg, **kwargs)
        self.loss_centerness = build_loss(copy.deepcopy(loss_centerness))

    def _init_layers(self) -> None:
        super()._init_layers()
        self.conv_centerness = nn.Conv2d(self.feat_channels, 1, 3, padding=1)
        self.scales = nn.ModuleList([Scale(1.0) for _ in self.strides])

    def forward(self, feats: Sequence[Tensor]) -> Tuple[List[Tensor], List[Tensor],
                                                        List[Tensor]]:
        """L feature maps → (cls_scores, bbox_preds, centernesses), lists over levels."""
        return multi_apply(self.forward_single, feats, self.scales, self.strides)

    def forward_single(self, x: Tensor, scale: Scale, stride: int) -> Tuple[Tensor, Tensor,
                                                                          Tensor]:
        """Of one level: (N, C_in, H, W) → cls_score (N, C, H, W), bbox_pred (N, 4, H, W),
        centerness (N, 1, H, W)."""
        cls_score, bbox_pred, cls_feat, reg_feat = super().forward_single(x)
        centerness = self.conv_centerness(reg_feat if self.centerness_on_reg else cls_feat)
        bbox_pred = scale(bbox_pred).float()
        if self.norm_on_bbox:
            # ReLU keeps the gradient of positive distances; exp would over-amplify at stride scale.
            bbox_pred = bbox_pred.clamp(min=0)
            if not self.training:
                bbox_pred = bbox_pred * stride
        else:
            bbox_pred = bbox_pred.exp()
        return cls_score, bbox_pred, centerness

    def loss(self, cls_scores: List[Tensor], bbox_preds: List[Tensor],
             centernesses: List[Tensor], gt_bboxes: List[Tensor], gt_labels: List[Tensor],
             img_metas: List[dict],
             gt_bboxes_ignore: Optional[List[Tensor]] = None) -> Dict[str, Tensor]:
        """``loss_cls`` (focal, averaged over positives), ``loss_bbox`` (IoU of decoded boxes,
        weighted by the centerness targets) and ``loss_centerness`` (BCE)."""
        if not len(cls_scores) == len(bbox_preds) == len(centernesses):
            raise ValueError(f'levels differ: {len(cls_scores)} cls_scores, {len(bbox_preds)} '
                             f'bbox_preds, {len(centernesses)} centernesses')
        check_gt_bboxes(gt_bboxes, img_metas, gt_labels, self.num_classes)
        points = self.prior_generator.grid_priors(
            [s.shape[-2:] for s in cls_scores], dtype=bbox_preds[0].dtype,
            device=bbox_preds[0].device)
        labels, bbox_targets = self.get_targets(points, gt_bboxes, gt_labels)
        num_imgs = cls_scores[0].size(0)
        flat_cls = torch.cat([s.permute(0, 2, 3, 1).reshape(-1, self.cls_out_channels)
                              for s in cls_scores])
        flat_bbox = torch.cat([b.permute(0, 2, 3, 1).reshape(-1, 4) for b in bbox_preds])
        flat_centerness = torch.cat([c.permute(0, 2, 3, 1).reshape(-1) for c in centernesses])
        flat_labels = torch.cat(labels)
        flat_targets = torch.cat(bbox_targets)
        flat_points = torch.cat([p.repeat(num_imgs, 1) for p in points])
        pos_inds = ((flat_labels >= 0) & (flat_labels < self.num_classes)).nonzero().reshape(-1)
        num_pos = max(reduce_mean(flat_bbox.new_tensor(float(len(pos_inds)))), 1.0)
        loss_cls = self.loss_cls(flat_cls, flat_labels, avg_factor=num_pos)

        pos_bbox = flat_bbox[pos_inds]
        pos_centerness = flat_centerness[pos_inds]
        pos_targets = flat_targets[pos_inds]
        centerness_targets = self.centerness_target(pos_targets)
        centerness_denorm = max(reduce_mean(centerness_targets.sum().detach()), 1e-6)
        if len(pos_inds) > 0:
            pos_points = flat_points[pos_inds]
            loss_bbox = self.loss_bbox(
                self.bbox_coder.decode(pos_points, pos_bbox),
                self.bbox_coder.decode(pos_points, pos_targets),
                weight=centerness_targets, avg_factor=centerness_denorm)
            loss_centerness = self.loss_centerness(pos_centerness, centerness_targets,
                                                   avg_factor=num_pos)
        else:
            loss_bbox = pos_bbox.sum()
            loss_centerness = pos_centerness.sum()
        return dict(loss_cls=loss_cls, loss_bbox=loss_bbox, loss_centerness=loss_centerness)

    def centerness_target(self, pos_bbox_targets: Tensor) -> Tensor:
        """sqrt(min(l, r) / max(l, r) * min(t, b) / max(t, b)) of (n, 4) distances → (n,)."""
        left_right = pos_bbox_targets[:, [0, 2]]
        top_bottom = pos_bbox_targets[:, [1, 3]]
        if len(left_right) == 0:
            return left_right[..., 0]
        return torch.sqrt((left_right.min(dim=-1)[0] / left_right.max(dim=-1)[0])
                          * (top_bottom.min(dim=-1)[0] / top_bottom.max(dim=-1)[0]))
