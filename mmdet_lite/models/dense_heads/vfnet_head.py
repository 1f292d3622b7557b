"""VFNetHead: IoU-aware classification scores trained with the varifocal loss, and a box refined by
a deformable "star" conv sampling the initial box's sides (Zhang et al., "VarifocalNet: An
IoU-aware Dense Object Detector", 2021).

Shape shorthand:
    N: images in the batch     L: FPN levels     C: classes (sigmoid)
    H_l, W_l: size of level l  P_l = H_l * W_l points (one anchor per point in ATSS mode)
"""
import copy
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor, nn

from ...core import (MlvlPointGenerator, bbox_overlaps, build_assigner, build_prior_generator,
                     build_sampler, multi_apply, reduce_mean)
from ..builder import HEADS, build_loss
from ..layers.deform_conv import DeformConv2d
from ..layers.scale import Scale
from ..utils.conv_module import ConvModule
from .anchor_free_head import INF, AnchorFreeHead
from .atss_targets import ATSSTargetsMixin
from .fcos_head import FCOSHead


def star_offsets(sides: Tensor) -> Tensor:
    """Deformable-conv offsets that move a 3x3 kernel's taps onto a box's corners and side
    midpoints.

    Args:
        sides: (N, 4, H, W) distances (left, top, right, bottom) from each location, in units of
            the level's stride.

    Returns:
        (N, 18, H, W) offsets in mmcv's layout (tap k of the row-major 3x3 kernel: dy in channel
        2k, dx in 2k + 1), relative to the regular grid positions (row - 1, col - 1).
    """
    left, top, right, bottom = sides.unbind(1)
    zero = torch.zeros_like(left)
    rows = (-top, zero, bottom)
    cols = (-left, zero, right)
    offsets = []
    for r, dy in enumerate(rows):
        for c, dx in enumerate(cols):
            offsets += [dy - (r - 1), dx - (c - 1)]
    return torch.stack(offsets, dim=1)


@HEADS.register_module()
class VFNetHead(ATSSTargetsMixin, FCOSHead):
    """FCOS towers (``cls_convs``, ``reg_convs``), an initial box branch (``vfnet_reg_conv``,
    ``vfnet_reg``, ``scales``), a star-deformable refinement (``vfnet_reg_refine_dconv``,
    ``vfnet_reg_refine``, ``scales_refine``) and a star-deformable classifier
    (``vfnet_cls_dconv``, ``vfnet_cls``).

    Args:
        regress_ranges / center_sampling / center_sample_radius: FCOS assignment (``use_atss``
            False).
        sync_num_pos: average the classification loss over the positives of all processes.
        gradient_mul: share of the star offsets' gradient that reaches the initial box.
        bbox_norm_type: the initial distances are exp(x) times ``'reg_denom'`` (the level's
            upper regress range) or ``'stride'``.
        loss_cls_fl: focal loss used instead of ``loss_cls`` when ``use_vfl`` is False.
        use_vfl: varifocal loss against the IoU of the refined box.
        loss_cls / loss_bbox / loss_bbox_refine: loss configs.
        use_atss: ATSS assignment on ``anchor_generator``'s anchors (else FCOS's).
        reg_decoded_bbox: regress decoded boxes (always, in 2.x's configs).
        anchor_generator: the ATSS anchors; its ``center_offset`` places the points too.
        Other arguments: :class:`AnchorFreeHead`.

    Outputs per level: cls_score (N, C, H, W) and, while training, bbox_pred (N, 4, H, W)
    (initial) before bbox_pred_refine (N, 4, H, W); at test time only the refined box.
    """

    def __init__(self, num_classes: int, in_channels: int,
                 regress_ranges: Sequence[Tuple[float, float]] = (
                     (-1, 64), (64, 128), (128, 256), (256, 512), (512, INF)),
                 center_sampling: bool = False, center_sample_radius: float = 1.5,
                 sync_num_pos: bool = True, gradient_mul: float = 0.1,
                 bbox_norm_type: str = 'reg_denom', loss_cls_fl: Optional[dict] = None,
                 use_vfl: bool = True, loss_cls: Optional[dict] = None,
                 loss_bbox: Optional[dict] = None, loss_bbox_refine: Optional[dict] = None,
                 norm_cfg: Optional[dict] = dict(type='GN', num_groups=32, requires_grad=True),
                 use_atss: bool = True, reg_decoded_bbox: bool = True,
                 anchor_generator: Optional[dict] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None, **kwargs):
        if bbox_norm_type not in ('reg_denom', 'stride'):
            raise ValueError(f"bbox_norm_type must be 'reg_denom' or 'stride', got "
                             f'{bbox_norm_type!r}')
        if loss_cls_fl is None:
            loss_cls_fl = dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25,
                               loss_weight=1.0)
        if loss_cls is None:
            loss_cls = dict(type='VarifocalLoss', use_sigmoid=True, alpha=0.75, gamma=2.0,
                            iou_weighted=True, loss_weight=1.0)
        if loss_bbox is None:
            loss_bbox = dict(type='GIoULoss', loss_weight=1.5)
        if loss_bbox_refine is None:
            loss_bbox_refine = dict(type='GIoULoss', loss_weight=2.0)
        if anchor_generator is None:
            anchor_generator = dict(type='AnchorGenerator', ratios=[1.0], octave_base_scale=8,
                                    scales_per_octave=1, center_offset=0.0,
                                    strides=[8, 16, 32, 64, 128])
        if init_cfg is None:
            init_cfg = dict(type='Normal', layer='Conv2d', std=0.01,
                            override=dict(type='Normal', name='vfnet_cls', std=0.01,
                                          bias_prob=0.01))
        self.dcn_kernel = 3
        self.dcn_pad = 1
        self.num_dconv_points = 9
        self.regress_ranges = regress_ranges
        # FCOSHead's constructor is skipped (as in 2.x): VFNet has its own losses and no
        # centerness branch.
        AnchorFreeHead.__init__(self, num_classes, in_channels, loss_cls=loss_cls,
                                loss_bbox=loss_bbox, norm_cfg=norm_cfg, init_cfg=init_cfg,
                                **kwargs)
        self.reg_denoms = [regress_range[-1] for regress_range in regress_ranges]
        self.reg_denoms[-1] = self.reg_denoms[-2] * 2
        self.center_sampling = center_sampling
        self.center_sample_radius = center_sample_radius
        self.norm_on_bbox = False
        self.centerness_on_reg = False
        self.sync_num_pos = sync_num_pos
        self.bbox_norm_type = bbox_norm_type
        self.gradient_mul = gradient_mul
        self.use_vfl = use_vfl
        self.loss_cls = build_loss(copy.deepcopy(loss_cls if use_vfl else loss_cls_fl))
        self.loss_bbox = build_loss(copy.deepcopy(loss_bbox))
        self.loss_bbox_refine = build_loss(copy.deepcopy(loss_bbox_refine))
        self.use_atss = use_atss
        self.reg_decoded_bbox = reg_decoded_bbox
        self.use_sigmoid_cls = loss_cls.get('use_sigmoid', False)
        self.anchor_center_offset = anchor_generator['center_offset']
        self.sampling = False
        if self.train_cfg:
            self.assigner = build_assigner(copy.deepcopy(self.train_cfg.assigner))
            self.sampler = build_sampler(dict(type='PseudoSampler'), context=self)
        self.atss_prior_generator = build_prior_generator(copy.deepcopy(anchor_generator))
        self.fcos_prior_generator = MlvlPointGenerator(
            anchor_generator['strides'], self.anchor_center_offset if self.use_atss else 0.5)
        self.prior_generator = self.fcos_prior_generator
        self.num_base_priors = self.prior_generator.num_base_priors[0]

    def _init_layers(self) -> None:
        self._init_cls_convs()
        self._init_reg_convs()
        self.relu = nn.ReLU(inplace=True)
        self.vfnet_reg_conv = ConvModule(self.feat_channels, self.feat_channels, 3, stride=1,
                                         padding=1, conv_cfg=self.conv_cfg,
                                         norm_cfg=self.norm_cfg, bias=self.conv_bias)
        self.vfnet_reg = nn.Conv2d(self.feat_channels, 4, 3, padding=1)
        self.scales = nn.ModuleList([Scale(1.0) for _ in self.strides])
        self.vfnet_reg_refine_dconv = DeformConv2d(self.feat_channels, self.feat_channels,
                                                   self.dcn_kernel, 1, padding=self.dcn_pad)
        self.vfnet_reg_refine = nn.Conv2d(self.feat_channels, 4, 3, padding=1)
        self.scales_refine = nn.ModuleList([Scale(1.0) for _ in self.strides])
        self.vfnet_cls_dconv = DeformConv2d(self.feat_channels, self.feat_channels,
                                            self.dcn_kernel, 1, padding=self.dcn_pad)
        self.vfnet_cls = nn.Conv2d(self.feat_channels, self.cls_out_channels, 3, padding=1)

    def forward(self, feats: Sequence[Tensor]) -> tuple:
        """L feature maps → (cls_scores, bbox_preds, bbox_preds_refine) while training,
        (cls_scores, bbox_preds_refine) at test time; lists over levels."""
        return multi_apply(self.forward_single, feats, self.scales, self.scales_refine,
                           self.strides, self.reg_denoms)

    def forward_single(self, x: Tensor, scale: Scale, scale_refine: Scale, stride: int,
                       reg_denom: float) -> tuple:
        """Of one level: (N, C_in, H, W) → cls_score (N, C, H, W), [bbox_pred (N, 4, H, W),]
        bbox_pred_refine (N, 4, H, W), distances in pixels."""
        cls_feat = x
        reg_feat = x
        for cls_layer in self.cls_convs:
            cls_feat = cls_layer(cls_feat)
        for reg_layer in self.reg_convs:
            reg_feat = reg_layer(reg_feat)
        reg_feat_init = self.vfnet_reg_conv(reg_feat)
        unit = reg_denom if self.bbox_norm_type == 'reg_denom' else stride
        bbox_pred = scale(self.vfnet_reg(reg_feat_init)).float().exp() * unit
        dcn_offset = self.star_dcn_offset(bbox_pred, self.gradient_mul, stride).to(
            reg_feat.dtype)
        reg_feat = self.relu(self.vfnet_reg_refine_dconv(reg_feat, dcn_offset))
        bbox_pred_refine = scale_refine(self.vfnet_reg_refine(reg_feat)).float().exp()
        bbox_pred_refine = bbox_pred_refine * bbox_pred.detach()
        cls_feat = self.relu(self.vfnet_cls_dconv(cls_feat, dcn_offset))
        cls_score = self.vfnet_cls(cls_feat)
        if self.training:
            return cls_score, bbox_pred, bbox_pred_refine
        return cls_score, bbox_pred_refine

    def star_dcn_offset(self, bbox_pred: Tensor, gradient_mul: float, stride: int) -> Tensor:
        """Offsets (N, 18, H, W) of the star conv from the initial distances (N, 4, H, W) in
        pixels; only ``gradient_mul`` of their gradient flows back into ``bbox_pred``."""
        scaled = (1 - gradient_mul) * bbox_pred.detach() + gradient_mul * bbox_pred
        return star_offsets(scaled / stride)

    def loss(self, cls_scores: List[Tensor], bbox_preds: List[Tensor],
             bbox_preds_refine: List[Tensor], gt_bboxes: List[Tensor], gt_labels: List[Tensor],
             img_metas: List[dict],
             gt_bboxes_ignore: Optional[List[Tensor]] = None) -> Dict[str, Tensor]:
        """``loss_cls`` (varifocal against the refined box's IoU), ``loss_bbox`` (initial box)
        and ``loss_bbox_rf`` (refined box), GIoU weighted by the IoUs."""
        if not len(cls_scores) == len(bbox_preds) == len(bbox_preds_refine):
            raise ValueError('cls_scores, bbox_preds and bbox_preds_refine need the same levels')
        featmap_sizes = [featmap.size()[-2:] for featmap in cls_scores]
        points = self.fcos_prior_generator.grid_priors(featmap_sizes, bbox_preds[0].dtype,
                                                       bbox_preds[0].device)
        labels, label_weights, bbox_targets, bbox_weights = self.get_targets(
            cls_scores, points, gt_bboxes, gt_labels, img_metas, gt_bboxes_ignore)
        num_imgs = cls_scores[0].size(0)
        flat_cls = torch.cat([s.permute(0, 2, 3, 1).reshape(-1, self.cls_out_channels)
                              for s in cls_scores])
        flat_bbox = torch.cat([b.permute(0, 2, 3, 1).reshape(-1, 4) for b in bbox_preds])
        flat_refine = torch.cat([b.permute(0, 2, 3, 1).reshape(-1, 4)
                                 for b in bbox_preds_refine])
        flat_labels = torch.cat(labels)
        flat_targets = torch.cat(bbox_targets)
        flat_points = torch.cat([p.repeat(num_imgs, 1) for p in points])
        pos_inds = torch.where((flat_labels >= 0) & (flat_labels < self.num_classes))[0]
        num_pos = len(pos_inds)
        pos_bbox = flat_bbox[pos_inds]
        pos_refine = flat_refine[pos_inds]
        pos_labels = flat_labels[pos_inds]
        if self.sync_num_pos:
            num_pos_avg = max(reduce_mean(pos_inds.new_tensor(num_pos).float()).item(), 1.0)
        else:
            num_pos_avg = num_pos
        pos_points = flat_points[pos_inds]
        pos_decoded = self.bbox_coder.decode(pos_points, pos_bbox)
        pos_decoded_targets = self.bbox_coder.decode(pos_points, flat_targets[pos_inds])
        iou_targets_ini = bbox_overlaps(pos_decoded, pos_decoded_targets.detach(),
                                        is_aligned=True).clamp(min=1e-6)
        bbox_weights_ini = iou_targets_ini.clone().detach()
        avg_ini = reduce_mean(bbox_weights_ini.sum()).clamp_(min=1).item()
        pos_decoded_refine = self.bbox_coder.decode(pos_points, pos_refine)
        iou_targets_rf = bbox_overlaps(pos_decoded_refine, pos_decoded_targets.detach(),
                                       is_aligned=True).clamp(min=1e-6)
        bbox_weights_rf = iou_targets_rf.clone().detach()
        avg_rf = reduce_mean(bbox_weights_rf.sum()).clamp_(min=1).item()
        cls_iou_targets = torch.zeros_like(flat_cls)
        if num_pos > 0:
            loss_bbox = self.loss_bbox(pos_decoded, pos_decoded_targets.detach(),
                                       weight=bbox_weights_ini, avg_factor=avg_ini)
            loss_bbox_refine = self.loss_bbox_refine(
                pos_decoded_refine, pos_decoded_targets.detach(), weight=bbox_weights_rf,
                avg_factor=avg_rf)
            cls_iou_targets[pos_inds, pos_labels] = iou_targets_rf.clone().detach()
        else:
            loss_bbox = pos_bbox.sum() * 0
            loss_bbox_refine = pos_refine.sum() * 0
        if self.use_vfl:
            loss_cls = self.loss_cls(flat_cls, cls_iou_targets, avg_factor=num_pos_avg)
        else:
            loss_cls = self.loss_cls(flat_cls, flat_labels, weight=label_weights,
                                     avg_factor=num_pos_avg)
        return dict(loss_cls=loss_cls, loss_bbox=loss_bbox, loss_bbox_rf=loss_bbox_refine)

    def get_targets(self, cls_scores: List[Tensor], mlvl_points: List[Tensor],
                    gt_bboxes: List[Tensor], gt_labels: List[Tensor], img_metas: List[dict],
                    gt_bboxes_ignore: Optional[List[Tensor]] = None) -> tuple:
        """``(labels_list, label_weights, bbox_targets_list, bbox_weights)``: per level labels
        (N * P_l,) and distance targets (N * P_l, 4); the weights (N * P,) are concatenated
        (None with FCOS assignment)."""
        if self.use_atss:
            return self.get_atss_targets(cls_scores, mlvl_points, gt_bboxes, gt_labels,
                                         img_metas, gt_bboxes_ignore)
        return self.get_fcos_targets(mlvl_points, gt_bboxes, gt_labels)

    def _get_target_single(self, *args, **kwargs):
        """Of one image: ATSS's (anchors first) or FCOS's (boxes first) targets, by
        ``use_atss``."""
        if self.use_atss:
            return ATSSTargetsMixin._get_target_single(self, *args, **kwargs)
        return AnchorFreeHead._get_target_single(self, *args, **kwargs)

    def get_fcos_targets(self, points: List[Tensor], gt_bboxes_list: List[Tensor],
                         gt_labels_list: List[Tensor]) -> tuple:
        """FCOS's per-level labels and distance targets, no weights."""
        labels, bbox_targets = AnchorFreeHead.get_targets(self, points, gt_bboxes_list,
                                                          gt_labels_list)
        return labels, None, bbox_targets, None

    def get_anchors(self, featmap_sizes: List[Tuple[int, int]], img_metas: List[dict],
                    device: Union[str, torch.device] = 'cpu'):
        """Per image, per level: the ATSS anchors (P_l, 4) and their valid flags (P_l,)."""
        multi_level_anchors = self.atss_prior_generator.grid_priors(featmap_sizes,
                                                                    device=device)
        anchor_list = [multi_level_anchors for _ in img_metas]
        valid_flag_list = [self.atss_prior_generator.valid_flags(featmap_sizes,
                                                                 img_meta['pad_shape'], device)
                           for img_meta in img_metas]
        return anchor_list, valid_flag_list

    def get_atss_targets(self, cls_scores: List[Tensor], mlvl_points: List[Tensor],
                         gt_bboxes: List[Tensor], gt_labels: List[Tensor],
                         img_metas: List[dict],
                         gt_bboxes_ignore: Optional[List[Tensor]] = None) -> tuple:
        """ATSS assignment on the anchors, the assigned boxes turned into distances from the
        points."""
        featmap_sizes = [featmap.size()[-2:] for featmap in cls_scores]
        if not (len(featmap_sizes) == self.atss_prior_generator.num_levels
                == self.fcos_prior_generator.num_levels):
            raise ValueError(f'{len(featmap_sizes)} feature levels but the anchor generator '
                             f'has {self.atss_prior_generator.num_levels} strides')
        anchor_list, valid_flag_list = self.get_anchors(featmap_sizes, img_metas,
                                                        device=cls_scores[0].device)
        targets = ATSSTargetsMixin.get_targets(
            self, anchor_list, valid_flag_list, gt_bboxes, img_metas,
            gt_bboxes_ignore_list=gt_bboxes_ignore, gt_labels_list=gt_labels,
            unmap_outputs=True)
        bbox_targets_list = self.transform_bbox_targets(
            [t.reshape(-1, 4) for t in targets.bbox_targets_list], mlvl_points, len(img_metas))
        labels_list = [labels.reshape(-1) for labels in targets.labels_list]
        label_weights = torch.cat([w.reshape(-1) for w in targets.label_weights_list])
        bbox_weights = torch.cat([w.reshape(-1) for w in targets.bbox_weights_list])
        return labels_list, label_weights, bbox_targets_list, bbox_weights

    def transform_bbox_targets(self, decoded_bboxes: List[Tensor], mlvl_points: List[Tensor],
                               num_imgs: int) -> List[Tensor]:
        """Per level, boxes (N * P_l, 4) → distances (N * P_l, 4) from the points (P_l, 2)."""
        if len(decoded_bboxes) != len(mlvl_points):
            raise ValueError(f'{len(decoded_bboxes)} levels of boxes but {len(mlvl_points)} of '
                             'points')
        return [self.bbox_coder.encode(points.repeat(num_imgs, 1), bboxes)
                for bboxes, points in zip(decoded_bboxes, mlvl_points)]

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        # VFNet's predictors already have their names; skip AnchorFreeHead's renaming of
        # unversioned '<x>_cls' keys (vfnet_cls would become conv_cls). The head has no
        # parameters of its own; its children load themselves.
        pass
