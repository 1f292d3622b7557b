"""RepPointsHead: objects as sets of learned points, refined once, read out as boxes (Yang et al.,
"RepPoints: Point Set Representation for Object Detection", 2019).

Shape shorthand:
    N: images in the batch     L: FPN levels     C: classes (sigmoid)     K: ``num_points``
    H_l, W_l: size of level l  P_l = H_l * W_l locations of level l (one per point prior)

Point offsets are (dy, dx) pairs in units of the level's stride (the deformable conv's layout);
``offset_to_pts`` turns them into (x, y) image coordinates. Training assigns twice: the initial
points' stage by the locations (``train_cfg.init``, e.g. ``PointAssigner``) and the refined
stage by the boxes of the initial points (``train_cfg.refine``, e.g. ``MaxIoUAssigner``).
"""
import copy
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from torch import Tensor, nn

from ...core import (MlvlPointGenerator, build_assigner, build_sampler, filter_scores_and_topk,
                     images_to_levels, multi_apply, unmap)
from ..builder import HEADS, build_loss
from ..layers.deform_conv import DeformConv2d
from ..utils.conv_module import ConvModule
from ..utils.gt_check import check_gt_bboxes
from .anchor_free_head import AnchorFreeHead


@HEADS.register_module()
class RepPointsHead(AnchorFreeHead):
    """Towers ``cls_convs`` / ``reg_convs``; initial points ``reppoints_pts_init_conv`` /
    ``reppoints_pts_init_out``; deformable convs sampling at those points for the classes
    (``reppoints_cls_conv``, ``reppoints_cls_out``) and the refinement
    (``reppoints_pts_refine_conv``, ``reppoints_pts_refine_out``); ``moment_transfer`` (2,)
    with the ``'moment'`` transform.

    Args:
        point_feat_channels: channels of the point branches.
        num_points: K, an odd square (the deformable kernel is sqrt(K) x sqrt(K)).
        gradient_mul: share of the classification's gradient that reaches the initial points.
        point_strides: the levels' strides.
        point_base_scale: the box of a location is ``point_base_scale`` strides wide.
        loss_cls / loss_bbox_init / loss_bbox_refine: loss configs.
        use_grid_points: predict a box and place the K points on its grid (else free points).
        center_init: start the points at the location (else on a base-scale grid).
        transform_method: points → box: ``'moment'`` (mean ± learned multiple of the std),
            ``'minmax'`` or ``'partial_minmax'`` (first 4 points).
        moment_mul: share of ``moment_transfer``'s gradient that is kept.
        Other arguments: :class:`AnchorFreeHead`.

    Outputs per level while training: cls_score (N, C, H, W), pts_init and pts_refine
    (N, 2K, H, W) offsets; at test time cls_score and the refined box (N, 4, H, W) in strides
    relative to the location.
    """

    def __init__(self, num_classes: int, in_channels: int, point_feat_channels: int = 256,
                 num_points: int = 9, gradient_mul: float = 0.1,
                 point_strides: Sequence[int] = (8, 16, 32, 64, 128),
                 point_base_scale: int = 4, loss_cls: Optional[dict] = None,
                 loss_bbox_init: Optional[dict] = None, loss_bbox_refine: Optional[dict] = None,
                 use_grid_points: bool = False, center_init: bool = True,
                 transform_method: str = 'moment', moment_mul: float = 0.01,
                 init_cfg: Optional[Union[dict, List[dict]]] = None, **kwargs):
        self.num_points = num_points
        self.point_feat_channels = point_feat_channels
        self.use_grid_points = use_grid_points
        self.center_init = center_init
        self.dcn_kernel = int(np.sqrt(num_points))
        self.dcn_pad = int((self.dcn_kernel - 1) / 2)
        if self.dcn_kernel * self.dcn_kernel != num_points or self.dcn_kernel % 2 != 1:
            raise ValueError(f'num_points={num_points} must be an odd square (9, 25, ...): the '
                             'points are the taps of a square deformable kernel')
        if transform_method not in ('moment', 'minmax', 'partial_minmax'):
            raise ValueError(f"transform_method must be 'moment', 'minmax' or 'partial_minmax', "
                             f'got {transform_method!r}')
        if loss_cls is None:
            loss_cls = dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25,
                            loss_weight=1.0)
        if loss_bbox_init is None:
            loss_bbox_init = dict(type='SmoothL1Loss', beta=1.0 / 9.0, loss_weight=0.5)
        if loss_bbox_refine is None:
            loss_bbox_refine = dict(type='SmoothL1Loss', beta=1.0 / 9.0, loss_weight=1.0)
        if init_cfg is None:
            init_cfg = dict(type='Normal', layer='Conv2d', std=0.01,
                            override=dict(type='Normal', name='reppoints_cls_out', std=0.01,
                                          bias_prob=0.01))
        # (dy, dx) of the regular kernel taps, row-major: the offsets are relative to them.
        base = torch.arange(-self.dcn_pad, self.dcn_pad + 1, dtype=torch.float64)
        self.dcn_base_offset = torch.stack(
            [base.repeat_interleave(self.dcn_kernel), base.repeat(self.dcn_kernel)],
            dim=1).reshape(1, -1, 1, 1)
        super().__init__(num_classes, in_channels, loss_cls=loss_cls, init_cfg=init_cfg,
                         **kwargs)
        self.gradient_mul = gradient_mul
        self.point_base_scale = point_base_scale
        self.point_strides = point_strides
        self.prior_generator = MlvlPointGenerator(self.point_strides, offset=0.)
        self.sampling = loss_cls['type'] not in ['FocalLoss']
        if self.train_cfg:
            self.init_assigner = build_assigner(copy.deepcopy(self.train_cfg.init.assigner))
            self.refine_assigner = build_assigner(
                copy.deepcopy(self.train_cfg.refine.assigner))
            if self.sampling and 'sampler' in self.train_cfg:
                sampler_cfg = self.train_cfg.sampler
            else:
                sampler_cfg = dict(type='PseudoSampler')
            self.sampler = build_sampler(copy.deepcopy(sampler_cfg), context=self)
        self.transform_method = transform_method
        if self.transform_method == 'moment':
            self.moment_transfer = nn.Parameter(data=torch.zeros(2), requires_grad=True)
            self.moment_mul = moment_mul
        self.loss_bbox_init = build_loss(copy.deepcopy(loss_bbox_init))
        self.loss_bbox_refine = build_loss(copy.deepcopy(loss_bbox_refine))

    def _init_layers(self) -> None:
        self.relu = nn.ReLU(inplace=True)
        self.cls_convs = nn.ModuleList()
        self.reg_convs = nn.ModuleList()
        for i in range(self.stacked_convs):
            chn = self.in_channels if i == 0 else self.feat_channels
            for convs in (self.cls_convs, self.reg_convs):
                convs.append(ConvModule(chn, self.feat_channels, 3, stride=1, padding=1,
                                        conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg))
        pts_out_dim = 4 if self.use_grid_points else 2 * self.num_points
        self.reppoints_cls_conv = DeformConv2d(self.feat_channels, self.point_feat_channels,
                                               self.dcn_kernel, 1, self.dcn_pad)
        self.reppoints_cls_out = nn.Conv2d(self.point_feat_channels, self.cls_out_channels,
                                           1, 1, 0)
        self.reppoints_pts_init_conv = nn.Conv2d(self.feat_channels, self.point_feat_channels,
                                                 3, 1, 1)
        self.reppoints_pts_init_out = nn.Conv2d(self.point_feat_channels, pts_out_dim, 1, 1, 0)
        self.reppoints_pts_refine_conv = DeformConv2d(self.feat_channels,
                                                      self.point_feat_channels,
                                                      self.dcn_kernel, 1, self.dcn_pad)
        self.reppoints_pts_refine_out = nn.Conv2d(self.point_feat_channels, pts_out_dim,
                                                  1, 1, 0)

    def points2bbox(self, pts: Tensor, y_first: bool = True) -> Tensor:
        """Boxes (n, 4, ...) of point sets (n, 2K, ...) ((y, x) pairs if ``y_first``)."""
        pts = pts.view(pts.shape[0], -1, 2, *pts.shape[2:])
        pts_y = pts[:, :, 0, ...] if y_first else pts[:, :, 1, ...]
        pts_x = pts[:, :, 1, ...] if y_first else pts[:, :, 0, ...]
        if self.transform_method == 'partial_minmax':
            pts_y = pts_y[:, :4, ...]
            pts_x = pts_x[:, :4, ...]
        if self.transform_method in ('minmax', 'partial_minmax'):
            return torch.cat([pts_x.min(dim=1, keepdim=True)[0],
                              pts_y.min(dim=1, keepdim=True)[0],
                              pts_x.max(dim=1, keepdim=True)[0],
                              pts_y.max(dim=1, keepdim=True)[0]], dim=1)
        pts_y_mean = pts_y.mean(dim=1, keepdim=True)
        pts_x_mean = pts_x.mean(dim=1, keepdim=True)
        pts_y_std = torch.std(pts_y - pts_y_mean, dim=1, keepdim=True)
        pts_x_std = torch.std(pts_x - pts_x_mean, dim=1, keepdim=True)
        moment_transfer = (self.moment_transfer * self.moment_mul
                           + self.moment_transfer.detach() * (1 - self.moment_mul))
        half_width = pts_x_std * torch.exp(moment_transfer[0])
        half_height = pts_y_std * torch.exp(moment_transfer[1])
        return torch.cat([pts_x_mean - half_width, pts_y_mean - half_height,
                          pts_x_mean + half_width, pts_y_mean + half_height], dim=1)

    def gen_grid_from_reg(self, reg: Tensor, previous_boxes: Tensor) -> Tuple[Tensor, Tensor]:
        """Box deltas reg (N, 4, H, W) applied to previous_boxes (N or 1, 4, H, W) → the K grid
        points of the new box (N, 2K, H, W) as (y, x) pairs, and the box (N, 4, H, W)."""
        b, _, h, w = reg.shape
        bxy = (previous_boxes[:, :2, ...] + previous_boxes[:, 2:, ...]) / 2.
        bwh = (previous_boxes[:, 2:, ...] - previous_boxes[:, :2, ...]).clamp(min=1e-6)
        grid_topleft = bxy + bwh * reg[:, :2, ...] - 0.5 * bwh * torch.exp(reg[:, 2:, ...])
        grid_wh = bwh * torch.exp(reg[:, 2:, ...])
        grid_left = grid_topleft[:, [0], ...]
        grid_top = grid_topleft[:, [1], ...]
        grid_width = grid_wh[:, [0], ...]
        grid_height = grid_wh[:, [1], ...]
        interval = torch.linspace(0., 1., self.dcn_kernel).view(1, self.dcn_kernel, 1,
                                                                  1).type_as(reg)
        grid_x = (grid_left + grid_width * interval).unsqueeze(1).repeat(
            1, self.dcn_kernel, 1, 1, 1).view(b, -1, h, w)
        grid_y = (grid_top + grid_height * interval).unsqueeze(2).repeat(
            1, 1, self.dcn_kernel, 1, 1).view(b, -1, h, w)
        grid_yx = torch.stack([grid_y, grid_x], dim=2).view(b, -1, h, w)
        regressed_bbox = torch.cat([grid_left, grid_top, grid_left + grid_width,
                                    grid_top + grid_height], 1)
        return grid_yx, regressed_bbox

    def forward(self, feats: Sequence[Tensor]) -> tuple:
        """L feature maps → (cls_scores, pts_init, pts_refine) while training, (cls_scores,
        bbox_preds) at test time; lists over levels."""
        return multi_apply(self.forward_single, feats)

    def forward_single(self, x: Tensor) -> tuple:
        """Of one level: (N, C_in, H, W) → see the class docstring."""
        dcn_base_offset = self.dcn_base_offset.type_as(x)
        if self.use_grid_points or not self.center_init:
            scale = self.point_base_scale / 2
            points_init = dcn_base_offset / dcn_base_offset.max() * scale
            bbox_init = x.new_tensor([-scale, -scale, scale, scale]).view(1, 4, 1, 1)
        else:
            points_init = 0
        cls_feat = x
        pts_feat = x
        for cls_conv in self.cls_convs:
            cls_feat = cls_conv(cls_feat)
        for reg_conv in self.reg_convs:
            pts_feat = reg_conv(pts_feat)
        pts_out_init = self.reppoints_pts_init_out(
            self.relu(self.reppoints_pts_init_conv(pts_feat)))
        if self.use_grid_points:
            pts_out_init, bbox_out_init = self.gen_grid_from_reg(pts_out_init,
                                                                 bbox_init.detach())
        else:
            pts_out_init = pts_out_init + points_init
        pts_out_init_grad_mul = ((1 - self.gradient_mul) * pts_out_init.detach()
                                 + self.gradient_mul * pts_out_init)
        dcn_offset = pts_out_init_grad_mul - dcn_base_offset
        cls_out = self.reppoints_cls_out(self.relu(self.reppoints_cls_conv(cls_feat,
                                                                           dcn_offset)))
        pts_out_refine = self.reppoints_pts_refine_out(
            self.relu(self.reppoints_pts_refine_conv(pts_feat, dcn_offset)))
        if self.use_grid_points:
            pts_out_refine, bbox_out_refine = self.gen_grid_from_reg(pts_out_refine,
                                                                     bbox_out_init.detach())
        else:
            pts_out_refine = pts_out_refine + pts_out_init.detach()
        if self.training:
            return cls_out, pts_out_init, pts_out_refine
        return cls_out, self.points2bbox(pts_out_refine)

    def get_points(self, featmap_sizes: List[Tuple[int, int]], img_metas: List[dict],
                   device: Union[str, torch.device]) -> Tuple[List[List[Tensor]],
                                                              List[List[Tensor]]]:
        """Per image, per level: locations (P_l, 4) ``[x, y, stride, stride]`` and their valid
        flags (P_l,) inside ``pad_shape``."""
        multi_level_points = self.prior_generator.grid_priors(featmap_sizes, device=device,
                                                              with_stride=True)
        points_list = [[point.clone() for point in multi_level_points] for _ in img_metas]
        valid_flag_list = [self.prior_generator.valid_flags(featmap_sizes,
                                                            img_meta['pad_shape'], device)
                           for img_meta in img_metas]
        return points_list, valid_flag_list

    def centers_to_bboxes(self, point_list: List[List[Tensor]]) -> List[List[Tensor]]:
        """Per image, per level: the base-scale boxes (P_l, 4) centred on the locations."""
        bbox_list = []
        for point in point_list:
            bbox = []
            for i_lvl in range(len(self.point_strides)):
                scale = self.point_base_scale * self.point_strides[i_lvl] * 0.5
                bbox_shift = point[i_lvl].new_tensor([-scale, -scale, scale, scale]).view(1, 4)
                bbox_center = torch.cat([point[i_lvl][:, :2], point[i_lvl][:, :2]], dim=1)
                bbox.append(bbox_center + bbox_shift)
            bbox_list.append(bbox)
        return bbox_list

    def offset_to_pts(self, center_list: List[List[Tensor]],
                      pred_list: List[Tensor]) -> List[Tensor]:
        """Per level, the point sets (N, P_l, 2K) as (x, y) pairs in pixels, from the offsets
        L x (N, 2K, H_l, W_l) ((dy, dx) pairs in strides) around the locations."""
        pts_list = []
        for i_lvl in range(len(self.point_strides)):
            pts_lvl = []
            for i_img in range(len(center_list)):
                pts_center = center_list[i_img][i_lvl][:, :2].repeat(1, self.num_points)
                yx_shift = pred_list[i_lvl][i_img].permute(1, 2, 0).view(-1,
                                                                         2 * self.num_points)
                xy_shift = torch.stack([yx_shift[..., 1::2], yx_shift[..., 0::2]], -1)
                xy_shift = xy_shift.view(*yx_shift.shape[:-1], -1)
                pts_lvl.append(xy_shift * self.point_strides[i_lvl] + pts_center)
            pts_list.append(torch.stack(pts_lvl, 0))
        return pts_list

    def _point_target_single(self, flat_proposals: Tensor, valid_flags: Tensor,
                             gt_bboxes: Tensor, gt_bboxes_ignore: Optional[Tensor],
                             gt_labels: Optional[Tensor], stage: str = 'init',
                             unmap_outputs: bool = True) -> tuple:
        """Of one image: assign its P candidates (P, 4) (locations or boxes) with the stage's
        assigner; labels (P,), label_weights (P,), bbox_gt (P, 4), pos_proposals (P, 4),
        proposals_weights (P, 4), pos_inds, neg_inds."""
        if not valid_flags.any():
            raise ValueError('no valid point prior in the image: every location lies outside '
                             'pad_shape; check the image metas')
        proposals = flat_proposals[valid_flags, :]
        stage_cfg = self.train_cfg.init if stage == 'init' else self.train_cfg.refine
        assigner = self.init_assigner if stage == 'init' else self.refine_assigner
        pos_weight = stage_cfg.pos_weight
        assign_result = assigner.assign(proposals, gt_bboxes, gt_bboxes_ignore,
                                        None if self.sampling else gt_labels)
        sampling_result = self.sampler.sample(assign_result, proposals, gt_bboxes)
        num_valid = proposals.shape[0]
        bbox_gt = proposals.new_zeros([num_valid, 4])
        pos_proposals = torch.zeros_like(proposals)
        proposals_weights = proposals.new_zeros([num_valid, 4])
        labels = proposals.new_full((num_valid,), self.num_classes, dtype=torch.long)
        label_weights = proposals.new_zeros(num_valid, dtype=torch.float)
        pos_inds = sampling_result.pos_inds
        neg_inds = sampling_result.neg_inds
        if len(pos_inds) > 0:
            bbox_gt[pos_inds, :] = sampling_result.pos_gt_bboxes
            pos_proposals[pos_inds, :] = proposals[pos_inds, :]
            proposals_weights[pos_inds, :] = 1.0
            if gt_labels is None:
                labels[pos_inds] = 0
            else:
                labels[pos_inds] = gt_labels[sampling_result.pos_assigned_gt_inds]
            label_weights[pos_inds] = 1.0 if pos_weight <= 0 else pos_weight
        if len(neg_inds) > 0:
            label_weights[neg_inds] = 1.0
        if unmap_outputs:
            num_total = flat_proposals.size(0)
            labels = unmap(labels, num_total, valid_flags)
            label_weights = unmap(label_weights, num_total, valid_flags)
            bbox_gt = unmap(bbox_gt, num_total, valid_flags)
            pos_proposals = unmap(pos_proposals, num_total, valid_flags)
            proposals_weights = unmap(proposals_weights, num_total, valid_flags)
        return (labels, label_weights, bbox_gt, pos_proposals, proposals_weights, pos_inds,
                neg_inds)

    def get_targets(self, proposals_list: List[List[Tensor]],
                    valid_flag_list: List[List[Tensor]], gt_bboxes_list: List[Tensor],
                    img_metas: List[dict], gt_bboxes_ignore_list: Optional[List[Tensor]] = None,
                    gt_labels_list: Optional[List[Tensor]] = None, stage: str = 'init',
                    label_channels: int = 1, unmap_outputs: bool = True) -> tuple:
        """Targets of one stage for N images' candidates (per image, per level (P_l, 4)).

        Returns:
            ``(labels_list, label_weights_list, bbox_gt_list, proposals_list,
            proposal_weights_list, num_total_pos, num_total_neg)``, the lists per level
            (N, P_l[, 4]).
        """
        if stage not in ('init', 'refine'):
            raise ValueError(f"stage must be 'init' or 'refine', got {stage!r}")
        num_imgs = len(img_metas)
        if not len(proposals_list) == len(valid_flag_list) == len(gt_bboxes_list) == num_imgs:
            raise ValueError(f'{num_imgs} img_metas but {len(proposals_list)} proposal lists '
                             f'and {len(gt_bboxes_list)} gt_bboxes: give one per image')
        check_gt_bboxes(gt_bboxes_list, img_metas, gt_labels_list,
                        None if gt_labels_list is None else self.num_classes)
        num_level_proposals = [points.size(0) for points in proposals_list[0]]
        concat_proposals = [torch.cat(p) for p in proposals_list]
        concat_flags = [torch.cat(f) for f in valid_flag_list]
        if gt_bboxes_ignore_list is None:
            gt_bboxes_ignore_list = [None] * num_imgs
        if gt_labels_list is None:
            gt_labels_list = [None] * num_imgs
        (all_labels, all_label_weights, all_bbox_gt, all_proposals, all_proposal_weights,
         pos_inds_list, neg_inds_list) = multi_apply(
             self._point_target_single, concat_proposals, concat_flags, gt_bboxes_list,
             gt_bboxes_ignore_list, gt_labels_list, stage=stage, unmap_outputs=unmap_outputs)
        num_total_pos = sum(max(inds.numel(), 1) for inds in pos_inds_list)
        num_total_neg = sum(max(inds.numel(), 1) for inds in neg_inds_list)
        return (images_to_levels(all_labels, num_level_proposals),
                images_to_levels(all_label_weights, num_level_proposals),
                images_to_levels(all_bbox_gt, num_level_proposals),
                images_to_levels(all_proposals, num_level_proposals),
                images_to_levels(all_proposal_weights, num_level_proposals),
                num_total_pos, num_total_neg)

    def loss_single(self, cls_score: Tensor, pts_pred_init: Tensor, pts_pred_refine: Tensor,
                    labels: Tensor, label_weights: Tensor, bbox_gt_init: Tensor,
                    bbox_weights_init: Tensor, bbox_gt_refine: Tensor,
                    bbox_weights_refine: Tensor, stride: int, num_total_samples_init: float,
                    num_total_samples_refine: float) -> Tuple[Tensor, Tensor, Tensor]:
        """Of one level: ``loss_cls`` and the two stages' box losses, boxes normalised by
        ``point_base_scale * stride``."""
        labels = labels.reshape(-1)
        label_weights = label_weights.reshape(-1)
        cls_score = cls_score.permute(0, 2, 3, 1).reshape(-1, self.cls_out_channels).contiguous()
        loss_cls = self.loss_cls(cls_score, labels, label_weights,
                                 avg_factor=num_total_samples_refine)
        bbox_pred_init = self.points2bbox(pts_pred_init.reshape(-1, 2 * self.num_points),
                                          y_first=False)
        bbox_pred_refine = self.points2bbox(pts_pred_refine.reshape(-1, 2 * self.num_points),
                                            y_first=False)
        normalize_term = self.point_base_scale * stride
        loss_pts_init = self.loss_bbox_init(
            bbox_pred_init / normalize_term, bbox_gt_init.reshape(-1, 4) / normalize_term,
            bbox_weights_init.reshape(-1, 4), avg_factor=num_total_samples_init)
        loss_pts_refine = self.loss_bbox_refine(
            bbox_pred_refine / normalize_term, bbox_gt_refine.reshape(-1, 4) / normalize_term,
            bbox_weights_refine.reshape(-1, 4), avg_factor=num_total_samples_refine)
        return loss_cls, loss_pts_init, loss_pts_refine

    def loss(self, cls_scores: List[Tensor], pts_preds_init: List[Tensor],
             pts_preds_refine: List[Tensor], gt_bboxes: List[Tensor], gt_labels: List[Tensor],
             img_metas: List[dict],
             gt_bboxes_ignore: Optional[List[Tensor]] = None) -> Dict[str, List[Tensor]]:
        """Per-level ``loss_cls``, ``loss_pts_init`` and ``loss_pts_refine``."""
        featmap_sizes = [featmap.size()[-2:] for featmap in cls_scores]
        device = cls_scores[0].device
        label_channels = self.cls_out_channels if self.use_sigmoid_cls else 1

        # initial stage: candidates are the locations (PointAssigner) or their base boxes
        center_list, valid_flag_list = self.get_points(featmap_sizes, img_metas, device)
        pts_coordinate_preds_init = self.offset_to_pts(center_list, pts_preds_init)
        if self.train_cfg.init.assigner['type'] == 'PointAssigner':
            candidate_list = center_list
        else:
            candidate_list = self.centers_to_bboxes(center_list)
        (_, _, bbox_gt_list_init, _, bbox_weights_list_init, num_total_pos_init,
         num_total_neg_init) = self.get_targets(
             candidate_list, valid_flag_list, gt_bboxes, img_metas,
             gt_bboxes_ignore_list=gt_bboxes_ignore, gt_labels_list=gt_labels, stage='init',
             label_channels=label_channels)
        num_total_samples_init = (num_total_pos_init + num_total_neg_init
                                  if self.sampling else num_total_pos_init)

        # refined stage: candidates are the boxes of the (detached) initial points
        center_list, valid_flag_list = self.get_points(featmap_sizes, img_metas, device)
        pts_coordinate_preds_refine = self.offset_to_pts(center_list, pts_preds_refine)
        bbox_list = []
        for i_img, center in enumerate(center_list):
            bbox = []
            for i_lvl in range(len(pts_preds_refine)):
                bbox_shift = self.points2bbox(pts_preds_init[i_lvl].detach()) * \
                    self.point_strides[i_lvl]
                bbox_center = torch.cat([center[i_lvl][:, :2], center[i_lvl][:, :2]], dim=1)
                bbox.append(bbox_center + bbox_shift[i_img].permute(1, 2, 0).reshape(-1, 4))
            bbox_list.append(bbox)
        (labels_list, label_weights_list, bbox_gt_list_refine, _, bbox_weights_list_refine,
         num_total_pos_refine, num_total_neg_refine) = self.get_targets(
             bbox_list, valid_flag_list, gt_bboxes, img_metas,
             gt_bboxes_ignore_list=gt_bboxes_ignore, gt_labels_list=gt_labels,
             stage='refine', label_channels=label_channels)
        num_total_samples_refine = (num_total_pos_refine + num_total_neg_refine
                                    if self.sampling else num_total_pos_refine)

        losses_cls, losses_pts_init, losses_pts_refine = multi_apply(
            self.loss_single, cls_scores, pts_coordinate_preds_init,
            pts_coordinate_preds_refine, labels_list, label_weights_list, bbox_gt_list_init,
            bbox_weights_list_init, bbox_gt_list_refine, bbox_weights_list_refine,
            self.point_strides, num_total_samples_init=num_total_samples_init,
            num_total_samples_refine=num_total_samples_refine)
        return dict(loss_cls=losses_cls, loss_pts_init=losses_pts_init,
                    loss_pts_refine=losses_pts_refine)

    def _get_bboxes_single(self, cls_score_list: List[Tensor], bbox_pred_list: List[Tensor],
                           score_factor_list: List[Optional[Tensor]], mlvl_priors: List[Tensor],
                           img_meta: dict, cfg: Optional[dict], rescale: bool = False,
                           with_nms: bool = True, **kwargs):
        """Of one image: per level top ``nms_pre`` above ``score_thr``; boxes are the refined
        boxes times the stride around the locations, clipped to the image."""
        cfg = self.resolve_test_cfg(cfg)
        img_shape = img_meta['img_shape']
        nms_pre = cfg.get('nms_pre', -1)
        mlvl_bboxes, mlvl_scores, mlvl_labels = [], [], []
        for level_idx, (cls_score, bbox_pred, priors) in enumerate(
                zip(cls_score_list, bbox_pred_list, mlvl_priors)):
            bbox_pred = bbox_pred.permute(1, 2, 0).reshape(-1, 4)
            cls_score = cls_score.permute(1, 2, 0).reshape(-1, self.cls_out_channels)
            scores = cls_score.sigmoid() if self.use_sigmoid_cls else \
                cls_score.softmax(-1)[:, :-1]
            scores, labels, _, filtered = filter_scores_and_topk(
                scores, cfg.score_thr, nms_pre if nms_pre > 0 else scores.numel(),
                dict(bbox_pred=bbox_pred, priors=priors))
            mlvl_bboxes.append(self._bbox_decode(filtered['priors'], filtered['bbox_pred'],
                                                 self.point_strides[level_idx], img_shape))
            mlvl_scores.append(scores)
            mlvl_labels.append(labels)
        return self._bbox_post_process(mlvl_scores, mlvl_labels, mlvl_bboxes,
                                       img_meta['scale_factor'], cfg, rescale=rescale,
                                       with_nms=with_nms)

    def _bbox_decode(self, points: Tensor, bbox_pred: Tensor, stride: int,
                     max_shape: Sequence[int]) -> Tensor:
        """Boxes (n, 4) in pixels from boxes in strides around the points (n, 2+), clipped to
        ``max_shape`` (h, w)."""
        bboxes = bbox_pred * stride + torch.cat([points[:, :2], points[:, :2]], dim=1)
        return torch.stack([bboxes[:, 0].clamp(min=0, max=max_shape[1]),
                            bboxes[:, 1].clamp(min=0, max=max_shape[0]),
                            bboxes[:, 2].clamp(min=0, max=max_shape[1]),
                            bboxes[:, 3].clamp(min=0, max=max_shape[0])], dim=-1)
