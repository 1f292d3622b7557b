"""ATSSHead: RetinaNet-style towers with a centerness branch, trained with adaptive training
sample selection (Zhang et al., "Bridging the Gap Between Anchor-based and Anchor-free
Detection via Adaptive Training Sample Selection", 2020).

Shape shorthand:
    N: images in the batch     L: FPN levels     A: anchors per location (1 in 2.x's configs)
    C: classes (sigmoid)       H_l, W_l: size of level l      P_l = H_l * W_l * A
"""
import copy
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor, nn

from ...core import build_assigner, build_sampler, multi_apply, reduce_mean
from ..builder import HEADS, build_loss
from ..layers.scale import Scale
from ..utils.conv_module import ConvModule
from .anchor_head import AnchorHead
from .atss_targets import ATSSTargetsMixin


def anchor_centerness(anchors: Tensor, gts: Tensor) -> Tensor:
    """FCOS centerness of the anchors' centres (n, 4) inside their boxes (n, 4) → (n,)."""
    cx = (anchors[:, 2] + anchors[:, 0]) / 2
    cy = (anchors[:, 3] + anchors[:, 1]) / 2
    left_right = torch.stack([cx - gts[:, 0], gts[:, 2] - cx], dim=1)
    top_bottom = torch.stack([cy - gts[:, 1], gts[:, 3] - cy], dim=1)
    centerness = torch.sqrt((left_right.min(dim=-1)[0] / left_right.max(dim=-1)[0])
                            * (top_bottom.min(dim=-1)[0] / top_bottom.max(dim=-1)[0]))
    if torch.isnan(centerness).any():
        raise ValueError('centerness of an anchor whose centre lies on its box side is undefined; '
                         'ATSSAssigner only assigns anchors whose centres are inside the box')
    return centerness


@HEADS.register_module()
class ATSSHead(ATSSTargetsMixin, AnchorHead):
    """``stacked_convs`` ConvModules per tower, predictors ``atss_cls`` (A * C), ``atss_reg``
    (A * 4 deltas) and ``atss_centerness`` (A), one ``Scale`` per level on the deltas.

    Args:
        pred_kernel_size: kernel of the three predictors.
        stacked_convs / conv_cfg / norm_cfg: the towers (GN(32) by default).
        reg_decoded_bbox: the box loss compares decoded boxes (GIoU), as 2.x's default.
        loss_centerness: centerness loss config (BCE).
        Other arguments: :class:`AnchorHead`.
    """

    def __init__(self, num_classes: int, in_channels: int, pred_kernel_size: int = 3,
                 stacked_convs: int = 4, conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = dict(type='GN', num_groups=32, requires_grad=True),
                 reg_decoded_bbox: bool = True, loss_centerness: Optional[dict] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None, **kwargs):
        self.pred_kernel_size = pred_kernel_size
        self.stacked_convs = stacked_convs
        self.conv_cfg = conv_cfg
        self.norm_cfg = norm_cfg
        if init_cfg is None:
            init_cfg = dict(type='Normal', layer='Conv2d', std=0.01,
                            override=dict(type='Normal', name='atss_cls', std=0.01,
                                          bias_prob=0.01))
        if loss_centerness is None:
            loss_centerness = dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0)
        super().__init__(num_classes, in_channels, reg_decoded_bbox=reg_decoded_bbox,
                         init_cfg=init_cfg, **kwargs)
        self.sampling = False
        if self.train_cfg:
            self.assigner = build_assigner(copy.deepcopy(self.train_cfg.assigner))
            self.sampler = build_sampler(dict(type='PseudoSampler'), context=self)
        self.loss_centerness = build_loss(copy.deepcopy(loss_centerness))

    def _init_layers(self) -> None:
        self.relu = nn.ReLU(inplace=True)
        self.cls_convs = nn.ModuleList()
        self.reg_convs = nn.ModuleList()
        for i in range(self.stacked_convs):
            chn = self.in_channels if i == 0 else self.feat_channels
            for convs in (self.cls_convs, self.reg_convs):
                convs.append(ConvModule(chn, self.feat_channels, 3, stride=1, padding=1,
                                        conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg))
        pad = self.pred_kernel_size // 2
        self.atss_cls = nn.Conv2d(self.feat_channels,
                                  self.num_base_priors * self.cls_out_channels,
                                  self.pred_kernel_size, padding=pad)
        self.atss_reg = nn.Conv2d(self.feat_channels, self.num_base_priors * 4,
                                  self.pred_kernel_size, padding=pad)
        self.atss_centerness = nn.Conv2d(self.feat_channels, self.num_base_priors,
                                         self.pred_kernel_size, padding=pad)
        self.scales = nn.ModuleList([Scale(1.0) for _ in self.prior_generator.strides])

    def forward(self, feats: Sequence[Tensor]) -> Tuple[List[Tensor], List[Tensor],
                                                        List[Tensor]]:
        """L feature maps → (cls_scores, bbox_preds, centernesses), lists over levels."""
        return multi_apply(self.forward_single, feats, self.scales)

    def forward_single(self, x: Tensor, scale: Scale) -> Tuple[Tensor, Tensor, Tensor]:
        """Of one level: (N, C_in, H, W) → cls_score (N, A * C, H, W), bbox_pred
        (N, A * 4, H, W), centerness (N, A, H, W)."""
        cls_feat = x
        reg_feat = x
        for cls_conv in self.cls_convs:
            cls_feat = cls_conv(cls_feat)
        for reg_conv in self.reg_convs:
            reg_feat = reg_conv(reg_feat)
        cls_score = self.atss_cls(cls_feat)
        bbox_pred = scale(self.atss_reg(reg_feat)).float()
        centerness = self.atss_centerness(reg_feat)
        return cls_score, bbox_pred, centerness

    def centerness_target(self, anchors: Tensor, gts: Tensor) -> Tensor:
        """Centerness (n,) of the anchors' centres (n, 4) in their boxes (n, 4)."""
        return anchor_centerness(anchors, gts)

    def loss_single(self, anchors: Tensor, cls_score: Tensor, bbox_pred: Tensor,
                    centerness: Tensor, labels: Tensor, label_weights: Tensor,
                    bbox_targets: Tensor, num_total_samples: float):
        """Of one level: anchors (N, P_l, 4), outputs (N, ., H, W), targets (N, P_l[, 4]).

        Returns ``loss_cls``, ``loss_bbox`` (not yet averaged), ``loss_centerness`` and the sum
        of the positives' centerness targets (the box loss's average factor)."""
        anchors = anchors.reshape(-1, 4)
        cls_score = cls_score.permute(0, 2, 3, 1).reshape(-1, self.cls_out_channels).contiguous()
        bbox_pred = bbox_pred.permute(0, 2, 3, 1).reshape(-1, 4)
        centerness = centerness.permute(0, 2, 3, 1).reshape(-1)
        bbox_targets = bbox_targets.reshape(-1, 4)
        labels = labels.reshape(-1)
        label_weights = label_weights.reshape(-1)
        loss_cls = self.loss_cls(cls_score, labels, label_weights, avg_factor=num_total_samples)
        pos_inds = ((labels >= 0) & (labels < self.num_classes)).nonzero().squeeze(1)
        if len(pos_inds) > 0:
            pos_targets = bbox_targets[pos_inds]
            pos_anchors = anchors[pos_inds]
            centerness_targets = self.centerness_target(pos_anchors, pos_targets)
            pos_decoded = self.bbox_coder.decode(pos_anchors, bbox_pred[pos_inds])
            loss_bbox = self.loss_bbox(pos_decoded, pos_targets, weight=centerness_targets,
                                       avg_factor=1.0)
            loss_centerness = self.loss_centerness(centerness[pos_inds], centerness_targets,
                                                   avg_factor=num_total_samples)
        else:
            loss_bbox = bbox_pred.sum() * 0
            loss_centerness = centerness.sum() * 0
            centerness_targets = bbox_targets.new_tensor(0.)
        return loss_cls, loss_bbox, loss_centerness, centerness_targets.sum()

    def loss(self, cls_scores: List[Tensor], bbox_preds: List[Tensor],
             centernesses: List[Tensor], gt_bboxes: List[Tensor], gt_labels: List[Tensor],
             img_metas: List[dict],
             gt_bboxes_ignore: Optional[List[Tensor]] = None) -> Dict[str, List[Tensor]]:
        """Per-level ``loss_cls``, ``loss_bbox`` (averaged over the summed centerness targets)
        and ``loss_centerness``."""
        featmap_sizes = [featmap.size()[-2:] for featmap in cls_scores]
        self._check_levels(featmap_sizes)
        device = cls_scores[0].device
        anchor_list, valid_flag_list = self.get_anchors(featmap_sizes, img_metas, device=device)
        targets = self.get_targets(anchor_list, valid_flag_list, gt_bboxes, img_metas,
                                   gt_bboxes_ignore_list=gt_bboxes_ignore,
                                   gt_labels_list=gt_labels)
        num_total_samples = max(reduce_mean(torch.tensor(
            targets.num_total_pos, dtype=torch.float, device=device)).item(), 1.0)
        losses_cls, losses_bbox, losses_centerness, bbox_avg_factor = multi_apply(
            self.loss_single, targets.anchors_list, cls_scores, bbox_preds, centernesses,
            targets.labels_list, targets.label_weights_list, targets.bbox_targets_list,
            num_total_samples=num_total_samples)
        bbox_avg_factor = reduce_mean(sum(bbox_avg_factor)).clamp_(min=1).item()
        losses_bbox = [loss / bbox_avg_factor for loss in losses_bbox]
        return dict(loss_cls=losses_cls, loss_bbox=losses_bbox,
                    loss_centerness=losses_centerness)

    def _check_levels(self, featmap_sizes: List) -> None:
        if len(featmap_sizes) != self.prior_generator.num_levels:
            raise ValueError(f'{len(featmap_sizes)} feature levels but the prior generator has '
                             f'{self.prior_generator.num_levels} strides; make neck.num_outs '
                             'equal the number of strides')
