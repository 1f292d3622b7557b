"""GFLHead: Generalized Focal Loss (Li et al., 2020): a joint class-IoU score (QualityFocalLoss) and
box sides as discrete distributions (DistributionFocalLoss), trained with ATSS assignment.

Shape shorthand:
    N: images in the batch     L: FPN levels     C: classes (sigmoid)
    R: ``reg_max``; each side is a distribution over the R + 1 bins 0..R (in strides)
    H_l, W_l: size of level l  P_l = H_l * W_l anchors of level l (one per location)
"""
import copy
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ...core import (bbox_overlaps, build_assigner, build_sampler, filter_scores_and_topk,
                     multi_apply, reduce_mean)
from ..builder import HEADS, build_loss
from ..layers.scale import Scale
from ..utils.conv_module import ConvModule
from .anchor_head import AnchorHead
from .atss_targets import ATSSTargetsMixin


class Integral(nn.Module):
    """Expected value of each side's distribution: softmax over the R + 1 bins, then the
    weighted sum of the bin positions 0..R (buffer ``project``).

    (..., 4 * (R + 1)) logits → (n, 4) distances in strides.
    """

    def __init__(self, reg_max: int = 16):
        super().__init__()
        self.reg_max = reg_max
        self.register_buffer('project', torch.linspace(0, self.reg_max, self.reg_max + 1))

    def forward(self, x: Tensor) -> Tensor:
        x = F.softmax(x.reshape(-1, self.reg_max + 1), dim=1)
        return F.linear(x, self.project.type_as(x)).reshape(-1, 4)


def anchor_center(anchors: Tensor) -> Tensor:
    """Centres (..., 2) of boxes (..., 4)."""
    return torch.stack([(anchors[..., 2] + anchors[..., 0]) / 2,
                        (anchors[..., 3] + anchors[..., 1]) / 2], dim=-1)


@HEADS.register_module()
class GFLHead(ATSSTargetsMixin, AnchorHead):
    """``stacked_convs`` ConvModules per tower, predictors ``gfl_cls`` (C) and ``gfl_reg``
    (4 * (R + 1)), one ``Scale`` per level; ``integral`` turns distributions into distances.

    Args:
        stacked_convs / conv_cfg / norm_cfg: the towers (GN(32) by default).
        loss_dfl: DistributionFocalLoss config.
        bbox_coder: ``DistancePointBBoxCoder`` (anchor centre to sides).
        reg_max: R, the last bin of each side's distribution.
        Other arguments: :class:`AnchorHead` (``loss_cls`` is QualityFocalLoss in 2.x's configs).
    """

    def __init__(self, num_classes: int, in_channels: int, stacked_convs: int = 4,
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = dict(type='GN', num_groups=32, requires_grad=True),
                 loss_dfl: Optional[dict] = None, bbox_coder: Optional[dict] = None,
                 reg_max: int = 16, init_cfg: Optional[Union[dict, List[dict]]] = None,
                 **kwargs):
        self.stacked_convs = stacked_convs
        self.conv_cfg = conv_cfg
        self.norm_cfg = norm_cfg
        self.reg_max = reg_max
        if loss_dfl is None:
            loss_dfl = dict(type='DistributionFocalLoss', loss_weight=0.25)
        if bbox_coder is None:
            bbox_coder = dict(type='DistancePointBBoxCoder')
        if init_cfg is None:
            init_cfg = dict(type='Normal', layer='Conv2d', std=0.01,
                            override=dict(type='Normal', name='gfl_cls', std=0.01,
                                          bias_prob=0.01))
        super().__init__(num_classes, in_channels, bbox_coder=bbox_coder, init_cfg=init_cfg,
                         **kwargs)
        self.sampling = False
        if self.train_cfg:
            self.assigner = build_assigner(copy.deepcopy(self.train_cfg.assigner))
            self.sampler = build_sampler(dict(type='PseudoSampler'), context=self)
        self.integral = Integral(self.reg_max)
        self.loss_dfl = build_loss(copy.deepcopy(loss_dfl))

    def _init_layers(self) -> None:
        self.relu = nn.ReLU(inplace=True)
        self.cls_convs = nn.ModuleList()
        self.reg_convs = nn.ModuleList()
        for i in range(self.stacked_convs):
            chn = self.in_channels if i == 0 else self.feat_channels
            for convs in (self.cls_convs, self.reg_convs):
                convs.append(ConvModule(chn, self.feat_channels, 3, stride=1, padding=1,
                                        conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg))
        if self.num_base_priors != 1:
            raise ValueError(f'{type(self).__name__} regresses from one anchor per location; the '
                             f'anchor generator gives {self.num_base_priors} (use one ratio and '
                             'scales_per_octave=1)')
        self.gfl_cls = nn.Conv2d(self.feat_channels, self.cls_out_channels, 3, padding=1)
        self.gfl_reg = nn.Conv2d(self.feat_channels, 4 * (self.reg_max + 1), 3, padding=1)
        self.scales = nn.ModuleList([Scale(1.0) for _ in self.prior_generator.strides])

    def forward(self, feats: Sequence[Tensor]) -> Tuple[List[Tensor], List[Tensor]]:
        """L feature maps → (cls_scores, bbox_preds), lists over levels."""
        return multi_apply(self.forward_single, feats, self.scales)

    def forward_single(self, x: Tensor, scale: Scale) -> Tuple[Tensor, Tensor]:
        """Of one level: (N, C_in, H, W) → cls_score (N, C, H, W) (joint class-quality logits),
        bbox_pred (N, 4 * (R + 1), H, W) distribution logits."""
        cls_feat = x
        reg_feat = x
        for cls_conv in self.cls_convs:
            cls_feat = cls_conv(cls_feat)
        for reg_conv in self.reg_convs:
            reg_feat = reg_conv(reg_feat)
        return self.gfl_cls(cls_feat), scale(self.gfl_reg(reg_feat)).float()

    def anchor_center(self, anchors: Tensor) -> Tensor:
        """Centres (..., 2) of anchors (..., 4)."""
        return anchor_center(anchors)

    def _pos_bbox_targets(self, sampling_result) -> Tensor:
        # GFL regresses decoded boxes whatever reg_decoded_bbox says (its coder is point-based).
        return sampling_result.pos_gt_bboxes

    def loss_single(self, anchors: Tensor, cls_score: Tensor, bbox_pred: Tensor,
                    labels: Tensor, label_weights: Tensor, bbox_targets: Tensor,
                    stride: Tuple[int, int], num_total_samples: float):
        """Of one level: anchors (N, P_l, 4), outputs (N, ., H, W), targets (N, P_l[, 4]).

        Returns ``loss_cls`` (QFL against the IoU of the decoded box), ``loss_bbox`` and
        ``loss_dfl`` (weighted by the predicted max class score, not yet averaged) and that
        weight's sum."""
        if stride[0] != stride[1]:
            raise ValueError(f'{type(self).__name__} needs square strides, got {stride}')
        anchors = anchors.reshape(-1, 4)
        cls_score = cls_score.permute(0, 2, 3, 1).reshape(-1, self.cls_out_channels)
        bbox_pred = bbox_pred.permute(0, 2, 3, 1).reshape(-1, 4 * (self.reg_max + 1))
        bbox_targets = bbox_targets.reshape(-1, 4)
        labels = labels.reshape(-1)
        label_weights = label_weights.reshape(-1)
        pos_inds = ((labels >= 0) & (labels < self.num_classes)).nonzero().squeeze(1)
        score = label_weights.new_zeros(labels.shape)
        if len(pos_inds) > 0:
            pos_bbox_pred = bbox_pred[pos_inds]
            pos_centers = self.anchor_center(anchors[pos_inds]) / stride[0]
            weight_targets = cls_score.detach().sigmoid().max(dim=1)[0][pos_inds]
            pos_decoded = self.bbox_coder.decode(pos_centers, self.integral(pos_bbox_pred))
            pos_decoded_targets = bbox_targets[pos_inds] / stride[0]
            score[pos_inds] = bbox_overlaps(pos_decoded.detach(), pos_decoded_targets,
                                            is_aligned=True)
            pred_corners = pos_bbox_pred.reshape(-1, self.reg_max + 1)
            target_corners = self.bbox_coder.encode(pos_centers, pos_decoded_targets,
                                                    self.reg_max).reshape(-1)
            loss_bbox = self.loss_bbox(pos_decoded, pos_decoded_targets, weight=weight_targets,
                                       avg_factor=1.0)
            loss_dfl = self.loss_dfl(pred_corners, target_corners,
                                     weight=weight_targets[:, None].expand(-1, 4).reshape(-1),
                                     avg_factor=4.0)
        else:
            loss_bbox = bbox_pred.sum() * 0
            loss_dfl = bbox_pred.sum() * 0
            weight_targets = bbox_pred.new_tensor(0)
        loss_cls = self.loss_cls(cls_score, (labels, score), weight=label_weights,
                                 avg_factor=num_total_samples)
        return loss_cls, loss_bbox, loss_dfl, weight_targets.sum()

    def loss(self, cls_scores: List[Tensor], bbox_preds: List[Tensor], gt_bboxes: List[Tensor],
             gt_labels: List[Tensor], img_metas: List[dict],
             gt_bboxes_ignore: Optional[List[Tensor]] = None) -> Dict[str, List[Tensor]]:
        """Per-level ``loss_cls``, ``loss_bbox`` and ``loss_dfl``; the box losses are averaged
        over the summed weights."""
        featmap_sizes = [featmap.size()[-2:] for featmap in cls_scores]
        if len(featmap_sizes) != self.prior_generator.num_levels:
            raise ValueError(f'{len(featmap_sizes)} feature levels but the anchor generator has '
                             f'{self.prior_generator.num_levels} strides')
        device = cls_scores[0].device
        anchor_list, valid_flag_list = self.get_anchors(featmap_sizes, img_metas, device=device)
        targets = self.get_targets(anchor_list, valid_flag_list, gt_bboxes, img_metas,
                                   gt_bboxes_ignore_list=gt_bboxes_ignore,
                                   gt_labels_list=gt_labels)
        num_total_samples = max(reduce_mean(torch.tensor(
            targets.num_total_pos, dtype=torch.float, device=device)).item(), 1.0)
        losses_cls, losses_bbox, losses_dfl, avg_factor = multi_apply(
            self.loss_single, targets.anchors_list, cls_scores, bbox_preds, targets.labels_list,
            targets.label_weights_list, targets.bbox_targets_list, self.prior_generator.strides,
            num_total_samples=num_total_samples)
        avg_factor = reduce_mean(sum(avg_factor)).clamp_(min=1).item()
        return dict(loss_cls=losses_cls, loss_bbox=[x / avg_factor for x in losses_bbox],
                    loss_dfl=[x / avg_factor for x in losses_dfl])

    def _get_bboxes_single(self, cls_score_list: List[Tensor], bbox_pred_list: List[Tensor],
                           score_factor_list: List[Optional[Tensor]], mlvl_priors: List[Tensor],
                           img_meta: dict, cfg: Optional[dict], rescale: bool = False,
                           with_nms: bool = True, **kwargs):
        """Of one image: per level the top ``nms_pre`` scores above ``score_thr``, distances =
        integral of the distributions times the stride, decoded from the anchor centres."""
        cfg = self.resolve_test_cfg(cfg)
        img_shape = img_meta['img_shape']
        nms_pre = cfg.get('nms_pre', -1)
        mlvl_bboxes, mlvl_scores, mlvl_labels = [], [], []
        for cls_score, bbox_pred, stride, priors in zip(
                cls_score_list, bbox_pred_list, self.prior_generator.strides, mlvl_priors):
            bbox_pred = self.integral(bbox_pred.permute(1, 2, 0)) * stride[0]
            scores = cls_score.permute(1, 2, 0).reshape(-1, self.cls_out_channels).sigmoid()
            scores, labels, _, filtered = filter_scores_and_topk(
                scores, cfg.score_thr, nms_pre if nms_pre > 0 else scores.numel(),
                dict(bbox_pred=bbox_pred, priors=priors))
            mlvl_bboxes.append(self.bbox_coder.decode(self.anchor_center(filtered['priors']),
                                                      filtered['bbox_pred'],
                                                      max_shape=img_shape))
            mlvl_scores.append(scores)
            mlvl_labels.append(labels)
        return self._bbox_post_process(mlvl_scores, mlvl_labels, mlvl_bboxes,
                                       img_meta['scale_factor'], cfg, rescale=rescale,
                                       with_nms=with_nms)
