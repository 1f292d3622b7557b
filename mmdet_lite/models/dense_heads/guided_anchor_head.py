"""GuidedAnchorHead: anchors predicted per location (Wang et al., "Region Proposal by Guided
Anchoring", CVPR 2019), mmdetection 2.x's GA-RPN / GA-RetinaNet base.

Three kinds of boxes (2.x's vocabulary):

* **approxs**: ``approxs_per_octave`` anchor shapes per location (scales x ratios), used only to
  decide which GT a location's anchor should learn (``ApproxMaxIoUAssigner``);
* **squares**: one square anchor per location, the base of the predicted shape;
* **guided anchors**: the squares with the shape branch's predicted (dw, dh) applied; the
  classifier and box regressor work on these, like ``AnchorHead``'s fixed anchors.

A location branch (``conv_loc``) scores where anchors are worth placing: at test time only the
locations whose sigmoid is at least ``loc_filter_thr`` keep an anchor, and the predictors are
masked convs evaluated only there. ``FeatureAdaption`` aligns the features to each location's
predicted shape (deformable conv).

Shape shorthand:
    N: images       L: FPN levels        C: ``cls_out_channels``
    H_l, W_l: size of level l            P_l = H_l * W_l (one square per location)
    A_a: ``approxs_per_octave``
"""
import copy
import warnings
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor, nn

from ...core import (anchor_inside_flags, build_assigner, build_bbox_coder,
                     build_prior_generator, build_sampler, calc_region, images_to_levels,
                     multi_apply, unmap)
from ...core.utils.config import as_config
from ..builder import HEADS, build_loss
from ..layers.masked_conv import MaskedConv2d
from ..utils.results import (ApproxAnchors, DenseCandidates, Detections, GALocTargets,
                             GAShapeTargets, GuidedAnchors, ImageGAShapeTargets)
from .anchor_head import AnchorHead
from .base_dense_head import BaseDenseHead
from .feature_adaption import FeatureAdaption


@HEADS.register_module()
class GuidedAnchorHead(AnchorHead):
    """Guided-anchor head: ``conv_loc`` (1), ``conv_shape`` (2), ``feature_adaption``, then
    masked 1x1 predictors ``conv_cls`` (C) and ``conv_reg`` (4), one anchor per location.

    Args:
        num_classes / in_channels / feat_channels: as :class:`AnchorHead`.
        approx_anchor_generator: the approximants (its ``octave_base_scale`` must equal the
            square's scale and its strides the square's strides).
        square_anchor_generator: one square per location (``ratios=[1.0]``, ``scales=[s]``).
        anchor_coder: decodes the shape branch's (dw, dh) on the squares.
        bbox_coder: decodes the regressor's deltas on the guided anchors.
        reg_decoded_bbox: regress decoded boxes (IoU-style losses).
        deform_groups: deformable groups of ``FeatureAdaption``.
        loc_filter_thr: test-time threshold on the location score.
        loss_loc: location loss (focal, on the (N, 1, H, W) location logits).
        loss_shape: shape loss (bounded IoU, guided anchor vs. GT).
        loss_cls / loss_bbox: as :class:`AnchorHead`.
        train_cfg: ``assigner``/``sampler``/``allowed_border``/``pos_weight`` of the guided
            anchors, ``ga_assigner``/``ga_sampler`` of the shape targets, ``center_ratio`` /
            ``ignore_ratio`` of the location targets.
        test_cfg: ``nms_pre``, ``score_thr``, ``nms``, ``max_per_img``.

    2.x behaviour kept on purpose: ``loss_loc`` receives the location targets as class labels
    (1 inside a GT's centre region), which a one-class sigmoid focal loss reads as *background*
    (its foreground label is 0); 2.x's guided-anchoring checkpoints were trained that way and
    their ``conv_loc`` means what this head computes.
    """

    def __init__(self, num_classes: int, in_channels: int, feat_channels: int = 256,
                 approx_anchor_generator: Optional[dict] = None,
                 square_anchor_generator: Optional[dict] = None,
                 anchor_coder: Optional[dict] = None, bbox_coder: Optional[dict] = None,
                 reg_decoded_bbox: bool = False, deform_groups: int = 4,
                 loc_filter_thr: float = 0.01, train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None, loss_loc: Optional[dict] = None,
                 loss_shape: Optional[dict] = None, loss_cls: Optional[dict] = None,
                 loss_bbox: Optional[dict] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None):
        if approx_anchor_generator is None:
            approx_anchor_generator = dict(type='AnchorGenerator', octave_base_scale=8,
                                           scales_per_octave=3, ratios=[0.5, 1.0, 2.0],
                                           strides=[4, 8, 16, 32, 64])
        if square_anchor_generator is None:
            square_anchor_generator = dict(type='AnchorGenerator', ratios=[1.0], scales=[8],
                                           strides=[4, 8, 16, 32, 64])
        if anchor_coder is None:
            anchor_coder = dict(type='DeltaXYWHBBoxCoder', target_means=[.0, .0, .0, .0],
                                target_stds=[1.0, 1.0, 1.0, 1.0])
        if bbox_coder is None:
            bbox_coder = dict(type='DeltaXYWHBBoxCoder', target_means=[.0, .0, .0, .0],
                              target_stds=[1.0, 1.0, 1.0, 1.0])
        if loss_loc is None:
            loss_loc = dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25,
                            loss_weight=1.0)
        if loss_shape is None:
            loss_shape = dict(type='BoundedIoULoss', beta=0.2, loss_weight=1.0)
        if loss_cls is None:
            loss_cls = dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0)
        if loss_bbox is None:
            loss_bbox = dict(type='SmoothL1Loss', beta=1.0, loss_weight=1.0)
        if init_cfg is None:
            init_cfg = dict(type='Normal', layer='Conv2d', std=0.01,
                            override=dict(type='Normal', name='conv_loc', std=0.01,
                                          bias_prob=0.01))
        # AnchorHead's own set-up (one prior generator, its sampling rule) does not apply.
        BaseDenseHead.__init__(self, init_cfg)
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.feat_channels = feat_channels
        self.deform_groups = deform_groups
        self.loc_filter_thr = loc_filter_thr

        if approx_anchor_generator.get('octave_base_scale') != \
                square_anchor_generator.get('scales', [None])[0]:
            raise ValueError(
                f"{type(self).__name__}: approx_anchor_generator.octave_base_scale="
                f"{approx_anchor_generator.get('octave_base_scale')} must equal "
                f"square_anchor_generator.scales[0]={square_anchor_generator.get('scales')}")
        if list(approx_anchor_generator['strides']) != list(square_anchor_generator['strides']):
            raise ValueError(
                f'{type(self).__name__}: approx_anchor_generator.strides='
                f"{approx_anchor_generator['strides']} must equal square_anchor_generator."
                f"strides={square_anchor_generator['strides']}")
        self.approx_anchor_generator = build_prior_generator(
            copy.deepcopy(approx_anchor_generator))
        self.square_anchor_generator = build_prior_generator(
            copy.deepcopy(square_anchor_generator))
        self.approxs_per_octave = self.approx_anchor_generator.num_base_priors[0]
        self.reg_decoded_bbox = reg_decoded_bbox
        self.num_base_priors = self.square_anchor_generator.num_base_priors[0]

        self.use_sigmoid_cls = loss_cls.get('use_sigmoid', False)
        self.loc_focal_loss = loss_loc['type'] in ['FocalLoss']
        # 2.x's rule for this head: every non-focal classification loss samples.
        self.sampling = loss_cls['type'] not in ['FocalLoss']
        self.train_cfg = as_config(train_cfg)
        self.test_cfg = as_config(test_cfg)
        self.ga_sampling = self.train_cfg is not None and 'ga_sampler' in self.train_cfg
        self.cls_out_channels = num_classes if self.use_sigmoid_cls else num_classes + 1

        self.anchor_coder = build_bbox_coder(copy.deepcopy(anchor_coder))
        self.bbox_coder = build_bbox_coder(copy.deepcopy(bbox_coder))
        self.loss_loc = build_loss(copy.deepcopy(loss_loc))
        self.loss_shape = build_loss(copy.deepcopy(loss_shape))
        self.loss_cls = build_loss(copy.deepcopy(loss_cls))
        self.loss_bbox = build_loss(copy.deepcopy(loss_bbox))

        if self.train_cfg:
            self.assigner = build_assigner(copy.deepcopy(self.train_cfg.assigner))
            if self.sampling and 'sampler' in self.train_cfg:
                sampler_cfg = self.train_cfg.sampler
            else:
                sampler_cfg = dict(type='PseudoSampler')
            self.sampler = build_sampler(copy.deepcopy(sampler_cfg), context=self)
            if 'ga_assigner' not in self.train_cfg:
                raise KeyError(f'{type(self).__name__} needs train_cfg.ga_assigner (e.g. '
                               "dict(type='ApproxMaxIoUAssigner', pos_iou_thr=0.7, "
                               'neg_iou_thr=0.3, min_pos_iou=0.3)) for its shape targets')
            self.ga_assigner = build_assigner(copy.deepcopy(self.train_cfg.ga_assigner))
            ga_sampler_cfg = (self.train_cfg.ga_sampler if self.ga_sampling
                              else dict(type='PseudoSampler'))
            self.ga_sampler = build_sampler(copy.deepcopy(ga_sampler_cfg), context=self)
        self.fp16_enabled = False
        self._init_layers()

    @property
    def num_anchors(self) -> int:
        """Deprecated 2.x alias of ``num_base_priors`` (one square per location); warns."""
        warnings.warn('DeprecationWarning: `num_anchors` is deprecated, please use '
                      '"num_base_priors" instead')
        return self.square_anchor_generator.num_base_priors[0]

    def _init_layers(self) -> None:
        self.relu = nn.ReLU(inplace=True)
        self.conv_loc = nn.Conv2d(self.in_channels, 1, 1)
        self.conv_shape = nn.Conv2d(self.in_channels, self.num_base_priors * 2, 1)
        self.feature_adaption = FeatureAdaption(self.in_channels, self.feat_channels,
                                                kernel_size=3, deform_groups=self.deform_groups)
        self.conv_cls = MaskedConv2d(self.feat_channels,
                                     self.num_base_priors * self.cls_out_channels, 1)
        self.conv_reg = MaskedConv2d(self.feat_channels, self.num_base_priors * 4, 1)

    def loc_filter_mask(self, loc_pred: Tensor) -> Optional[Tensor]:
        """(N, 1, H, W) location logits -> (N, H, W) locations kept at test time; None in
        training (the predictors then run everywhere)."""
        if self.training:
            return None
        return loc_pred.sigmoid()[:, 0] >= self.loc_filter_thr

    def forward_single(self, x: Tensor) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
        """Of one level: (N, C_in, H, W) -> cls_score (N, C, H, W), bbox_pred (N, 4, H, W),
        shape_pred (N, 2, H, W), loc_pred (N, 1, H, W)."""
        loc_pred = self.conv_loc(x)
        shape_pred = self.conv_shape(x)
        x = self.feature_adaption(x, shape_pred)
        mask = self.loc_filter_mask(loc_pred)
        return self.conv_cls(x, mask), self.conv_reg(x, mask), shape_pred, loc_pred

    def forward(self, feats: Sequence[Tensor]) -> tuple:
        """L feature maps -> (cls_scores, bbox_preds, shape_preds, loc_preds), lists over
        levels."""
        return multi_apply(self.forward_single, feats)

    def get_sampled_approxs(self, featmap_sizes: List[Tuple[int, int]], img_metas: List[dict],
                            device: Union[str, torch.device] = 'cpu') -> ApproxAnchors:
        """Per image, per level: approximants (P_l * A_a, 4) and inside flags (P_l,)."""
        multi_level_approxs = self.approx_anchor_generator.grid_priors(featmap_sizes,
                                                                       device=device)
        approxs_list = [multi_level_approxs for _ in img_metas]
        allowed_border = self.train_cfg.get('allowed_border', -1) if self.train_cfg else -1
        inside_flag_list = []
        for img_meta in img_metas:
            level_flags = self.approx_anchor_generator.valid_flags(
                featmap_sizes, img_meta['pad_shape'], device=device)
            multi_level_flags = []
            for approxs, flags in zip(multi_level_approxs, level_flags):
                inside = anchor_inside_flags(approxs, flags, img_meta['img_shape'][:2],
                                             allowed_border)
                # a location is inside when any of its approximants is
                multi_level_flags.append(inside.view(-1, self.approxs_per_octave).any(dim=1))
            inside_flag_list.append(multi_level_flags)
        return ApproxAnchors(approxs_list, inside_flag_list)

    def get_anchors(self, featmap_sizes: List[Tuple[int, int]],  # type: ignore[override]
                    shape_preds: List[Tensor], loc_preds: List[Tensor], img_metas: List[dict],
                    use_loc_filter: bool = False,
                    device: Union[str, torch.device] = 'cpu') -> GuidedAnchors:
        """Squares, guided anchors and location masks per image and level (2.x's signature).

        ``shape_preds[l]`` (N, 2, H_l, W_l), ``loc_preds[l]`` (N, 1, H_l, W_l);
        ``use_loc_filter`` keeps only the locations scoring ``loc_filter_thr`` or more.
        """
        multi_level_squares = self.square_anchor_generator.grid_priors(featmap_sizes,
                                                                       device=device)
        squares_list = [multi_level_squares for _ in img_metas]
        guided_anchors_list, loc_mask_list = [], []
        for img_id in range(len(img_metas)):
            anchors, masks = [], []
            for level, squares in enumerate(multi_level_squares):
                guided, mask = self._get_guided_anchors_single(
                    squares, shape_preds[level][img_id], loc_preds[level][img_id],
                    use_loc_filter=use_loc_filter)
                anchors.append(guided)
                masks.append(mask)
            guided_anchors_list.append(anchors)
            loc_mask_list.append(masks)
        return GuidedAnchors(squares_list, guided_anchors_list, loc_mask_list)

    def _get_guided_anchors_single(self, squares: Tensor, shape_pred: Tensor, loc_pred: Tensor,
                                   use_loc_filter: bool = False) -> Tuple[Tensor, Tensor]:
        """Of one level of one image: squares (P, 4), shape_pred (2, H, W), loc_pred (1, H, W)
        -> the kept squares' guided anchors (k, 4) and the keep mask (P,)."""
        loc_pred = loc_pred.sigmoid().detach()
        if use_loc_filter:
            loc_mask = loc_pred >= self.loc_filter_thr
        else:
            loc_mask = loc_pred >= 0.0
        mask = loc_mask.permute(1, 2, 0).expand(-1, -1, self.num_base_priors).reshape(-1)
        squares = squares[mask]
        anchor_deltas = shape_pred.permute(1, 2, 0).reshape(-1, 2).detach()[mask]
        bbox_deltas = anchor_deltas.new_zeros(squares.size())
        bbox_deltas[:, 2:] = anchor_deltas
        guided_anchors = self.anchor_coder.decode(squares, bbox_deltas, wh_ratio_clip=1e-6)
        return guided_anchors, mask

    def ga_loc_targets(self, gt_bboxes_list: List[Tensor],
                       featmap_sizes: List[Tuple[int, int]]) -> GALocTargets:
        """Location targets: each GT goes to the level matching its scale (``octave_base_scale
        * stride``, one octave per level); its centre region (``center_ratio``) is positive,
        its wider ``ignore_ratio`` region and the same region on the neighbouring levels are
        ignored, everything else is negative with weight 0.1."""
        anchor_scale = self.approx_anchor_generator.octave_base_scale
        strides = []
        for stride in self.approx_anchor_generator.strides:
            if stride[0] != stride[1]:
                raise ValueError(f'{type(self).__name__}: guided anchoring needs equal x/y '
                                 f'strides, got {tuple(stride)}')
            strides.append(stride[0])
        r1 = (1 - self.train_cfg.center_ratio) / 2
        r2 = (1 - self.train_cfg.ignore_ratio) / 2
        num_imgs = len(gt_bboxes_list)
        num_levels = len(featmap_sizes)
        device = gt_bboxes_list[0].device
        loc_targets = [torch.zeros(num_imgs, 1, h, w, device=device, dtype=torch.float32)
                       for h, w in featmap_sizes]
        loc_weights = [torch.full_like(t, -1) for t in loc_targets]
        ignore_maps = [torch.zeros_like(t) for t in loc_targets]
        for img_id, gt_bboxes in enumerate(gt_bboxes_list):
            scale = torch.sqrt((gt_bboxes[:, 2] - gt_bboxes[:, 0]) *
                               (gt_bboxes[:, 3] - gt_bboxes[:, 1]))
            min_anchor_size = scale.new_full((1, ), float(anchor_scale * strides[0]))
            target_lvls = torch.floor(torch.log2(scale) - torch.log2(min_anchor_size) + 0.5)
            target_lvls = target_lvls.clamp(min=0, max=num_levels - 1).long()
            for gt_id in range(gt_bboxes.size(0)):
                lvl = int(target_lvls[gt_id].item())
                gt = gt_bboxes[gt_id, :4] / strides[lvl]
                ig_x1, ig_y1, ig_x2, ig_y2 = calc_region(gt, r2, featmap_sizes[lvl])
                ctr_x1, ctr_y1, ctr_x2, ctr_y2 = calc_region(gt, r1, featmap_sizes[lvl])
                loc_targets[lvl][img_id, 0, ctr_y1:ctr_y2 + 1, ctr_x1:ctr_x2 + 1] = 1
                loc_weights[lvl][img_id, 0, ig_y1:ig_y2 + 1, ig_x1:ig_x2 + 1] = 0
                loc_weights[lvl][img_id, 0, ctr_y1:ctr_y2 + 1, ctr_x1:ctr_x2 + 1] = 1
                for near in (lvl - 1, lvl + 1):
                    if 0 <= near < num_levels:
                        gt = gt_bboxes[gt_id, :4] / strides[near]
                        ig_x1, ig_y1, ig_x2, ig_y2 = calc_region(gt, r2, featmap_sizes[near])
                        ignore_maps[near][img_id, 0, ig_y1:ig_y2 + 1, ig_x1:ig_x2 + 1] = 1
        for weights, ignore in zip(loc_weights, ignore_maps):
            weights[(weights < 0) & (ignore > 0)] = 0
            weights[weights < 0] = 0.1
        loc_avg_factor = sum(t.size(0) * t.size(-1) * t.size(-2) for t in loc_targets) / 200
        return GALocTargets(loc_targets, loc_weights, loc_avg_factor)

    def _ga_shape_target_single(self, flat_approxs: Tensor, inside_flags: Tensor,
                                flat_squares: Tensor, gt_bboxes: Tensor,
                                gt_bboxes_ignore: Optional[Tensor], img_meta: dict,
                                unmap_outputs: bool = True) -> ImageGAShapeTargets:
        """Of one image: assign the P squares by their approximants (``ga_assigner``), sample
        (``ga_sampler``) and return the sampled squares with their GTs (not deltas).

        ``flat_approxs`` (P * A_a, 4), ``inside_flags`` (P,), ``flat_squares`` (P, 4).
        """
        if not inside_flags.any():
            raise ValueError(
                f"no anchor location lies inside image {img_meta.get('filename', '<no name>')!r}"
                f" (img_shape={tuple(img_meta['img_shape'])}); set train_cfg.allowed_border=-1 "
                'or use larger images')
        expand_inside_flags = inside_flags[:, None].expand(
            -1, self.approxs_per_octave).reshape(-1)
        approxs = flat_approxs[expand_inside_flags]
        squares = flat_squares[inside_flags]
        assign_result = self.ga_assigner.assign(approxs, squares, self.approxs_per_octave,
                                                gt_bboxes, gt_bboxes_ignore)
        sampling_result = self.ga_sampler.sample(assign_result, squares, gt_bboxes)
        bbox_anchors = torch.zeros_like(squares)
        bbox_gts = torch.zeros_like(squares)
        bbox_weights = torch.zeros_like(squares)
        pos_inds = sampling_result.pos_inds
        neg_inds = sampling_result.neg_inds
        if len(pos_inds) > 0:
            bbox_anchors[pos_inds, :] = sampling_result.pos_bboxes
            bbox_gts[pos_inds, :] = sampling_result.pos_gt_bboxes
            bbox_weights[pos_inds, :] = 1.0
        if unmap_outputs:
            num_total = flat_squares.size(0)
            bbox_anchors = unmap(bbox_anchors, num_total, inside_flags)
            bbox_gts = unmap(bbox_gts, num_total, inside_flags)
            bbox_weights = unmap(bbox_weights, num_total, inside_flags)
        return ImageGAShapeTargets(bbox_anchors, bbox_gts, bbox_weights, pos_inds, neg_inds)

    def ga_shape_targets(self, approx_list: List[List[Tensor]],
                         inside_flag_list: List[List[Tensor]], square_list: List[List[Tensor]],
                         gt_bboxes_list: List[Tensor], img_metas: List[dict],
                         gt_bboxes_ignore_list: Optional[List[Tensor]] = None,
                         unmap_outputs: bool = True) -> GAShapeTargets:
        """Shape targets of a batch, regrouped per level (see ``GAShapeTargets``)."""
        num_imgs = len(img_metas)
        if not (len(approx_list) == len(inside_flag_list) == len(square_list) == num_imgs):
            raise ValueError(f'{num_imgs} img_metas but {len(approx_list)} approx lists, '
                             f'{len(inside_flag_list)} flag lists, {len(square_list)} squares')
        num_level_squares = [squares.size(0) for squares in square_list[0]]
        if gt_bboxes_ignore_list is None:
            gt_bboxes_ignore_list = [None] * num_imgs
        (all_bbox_anchors, all_bbox_gts, all_bbox_weights, pos_inds_list,
         neg_inds_list) = multi_apply(
             self._ga_shape_target_single, [torch.cat(a) for a in approx_list],
             [torch.cat(f) for f in inside_flag_list], [torch.cat(s) for s in square_list],
             gt_bboxes_list, gt_bboxes_ignore_list, img_metas, unmap_outputs=unmap_outputs)
        num_total_pos = sum(max(inds.numel(), 1) for inds in pos_inds_list)
        num_total_neg = sum(max(inds.numel(), 1) for inds in neg_inds_list)
        return GAShapeTargets(images_to_levels(all_bbox_anchors, num_level_squares),
                              images_to_levels(all_bbox_gts, num_level_squares),
                              images_to_levels(all_bbox_weights, num_level_squares),
                              num_total_pos, num_total_neg)

    def loss_shape_single(self, shape_pred: Tensor, bbox_anchors: Tensor, bbox_gts: Tensor,
                          anchor_weights: Tensor, anchor_total_num: int) -> Tensor:
        """Of one level: the shape loss of the positive squares' guided anchors.

        ``shape_pred`` (N, 2, H, W); ``bbox_anchors`` / ``bbox_gts`` / ``anchor_weights``
        (N, P_l, 4).
        """
        shape_pred = shape_pred.permute(0, 2, 3, 1).reshape(-1, 2)
        bbox_anchors = bbox_anchors.reshape(-1, 4)
        bbox_gts = bbox_gts.reshape(-1, 4)
        anchor_weights = anchor_weights.reshape(-1, 4)
        inds = torch.nonzero(anchor_weights[:, 0] > 0, as_tuple=False).squeeze(1)
        bbox_deltas = shape_pred.new_zeros(inds.numel(), 4)
        bbox_deltas[:, 2:] = shape_pred[inds]
        pred_anchors = self.anchor_coder.decode(bbox_anchors[inds], bbox_deltas,
                                                wh_ratio_clip=1e-6)
        return self.loss_shape(pred_anchors, bbox_gts[inds], anchor_weights[inds],
                               avg_factor=anchor_total_num)

    def loss_loc_single(self, loc_pred: Tensor, loc_target: Tensor, loc_weight: Tensor,
                        loc_avg_factor: float) -> Tensor:
        """Of one level: the location loss of (N, 1, H, W) logits against targets/weights of the
        same shape (targets passed as labels, see the class docstring)."""
        return self.loss_loc(loc_pred.reshape(-1, 1), loc_target.reshape(-1).long(),
                             loc_weight.reshape(-1), avg_factor=loc_avg_factor)

    def loss(self, cls_scores: List[Tensor], bbox_preds: List[Tensor],  # type: ignore[override]
             shape_preds: List[Tensor], loc_preds: List[Tensor], gt_bboxes: List[Tensor],
             gt_labels: Optional[List[Tensor]], img_metas: List[dict],
             gt_bboxes_ignore: Optional[List[Tensor]] = None) -> Dict[str, List[Tensor]]:
        """Per-level ``loss_cls``, ``loss_bbox`` (guided anchors), ``loss_shape``, ``loss_loc``."""
        if not self.train_cfg:
            raise ValueError(f'{type(self).__name__}.loss needs train_cfg (assigner, '
                             'ga_assigner, center_ratio, ignore_ratio); set model.train_cfg')
        featmap_sizes = [featmap.size()[-2:] for featmap in cls_scores]
        if len(featmap_sizes) != self.approx_anchor_generator.num_levels:
            raise ValueError(f'{len(featmap_sizes)} feature levels but the anchor generators '
                             f'have {self.approx_anchor_generator.num_levels} strides')
        device = cls_scores[0].device
        loc_targets = self.ga_loc_targets(gt_bboxes, featmap_sizes)
        approxs_list, inside_flag_list = self.get_sampled_approxs(featmap_sizes, img_metas,
                                                                  device=device)
        squares_list, guided_anchors_list, _ = self.get_anchors(
            featmap_sizes, shape_preds, loc_preds, img_metas, device=device)
        shape_targets = self.ga_shape_targets(approxs_list, inside_flag_list, squares_list,
                                              gt_bboxes, img_metas)
        anchor_total_num = shape_targets.num_total_pos
        if self.ga_sampling:
            anchor_total_num += shape_targets.num_total_neg

        label_channels = self.cls_out_channels if self.use_sigmoid_cls else 1
        targets = self.get_targets(guided_anchors_list, inside_flag_list, gt_bboxes, img_metas,
                                   gt_bboxes_ignore_list=gt_bboxes_ignore,
                                   gt_labels_list=gt_labels, label_channels=label_channels)
        num_total_samples = targets.num_total_pos
        if self.sampling:
            num_total_samples += targets.num_total_neg
        num_level_anchors = [anchors.size(0) for anchors in guided_anchors_list[0]]
        all_anchor_list = images_to_levels([torch.cat(a) for a in guided_anchors_list],
                                           num_level_anchors)
        losses_cls, losses_bbox = multi_apply(
            self.loss_single, cls_scores, bbox_preds, all_anchor_list, targets.labels_list,
            targets.label_weights_list, targets.bbox_targets_list, targets.bbox_weights_list,
            num_total_samples=num_total_samples)
        losses_loc = [
            self.loss_loc_single(loc_preds[i], loc_targets.loc_targets[i],
                                 loc_targets.loc_weights[i], loc_targets.loc_avg_factor)
            for i in range(len(loc_preds))
        ]
        losses_shape = [
            self.loss_shape_single(shape_preds[i], shape_targets.bbox_anchors_list[i],
                                   shape_targets.bbox_gts_list[i],
                                   shape_targets.bbox_weights_list[i], anchor_total_num)
            for i in range(len(shape_preds))
        ]
        return dict(loss_cls=losses_cls, loss_bbox=losses_bbox, loss_shape=losses_shape,
                    loss_loc=losses_loc)

    def get_bboxes(self, cls_scores: List[Tensor], bbox_preds: List[Tensor],  # type: ignore
                   shape_preds: List[Tensor], loc_preds: List[Tensor],
                   img_metas: Optional[List[dict]] = None, cfg: Optional[dict] = None,
                   rescale: bool = False, with_nms: bool = True) -> list:
        """Detections of each image on its guided anchors (2.x's signature, plus ``with_nms``).

        Outside training the anchors (and scores) are only those of the locations the location
        branch keeps. Returns per image ``Detections`` (or ``DenseCandidates`` without NMS).
        """
        if not len(cls_scores) == len(bbox_preds) == len(shape_preds) == len(loc_preds):
            raise ValueError('cls_scores, bbox_preds, shape_preds and loc_preds must have one '
                             'entry per level')
        if img_metas is None:
            raise ValueError('get_bboxes needs img_metas (img_shape, scale_factor per image)')
        num_levels = len(cls_scores)
        featmap_sizes = [featmap.size()[-2:] for featmap in cls_scores]
        _, guided_anchors, loc_masks = self.get_anchors(
            featmap_sizes, shape_preds, loc_preds, img_metas,
            use_loc_filter=not self.training, device=cls_scores[0].device)
        result_list = []
        for img_id, img_meta in enumerate(img_metas):
            result_list.append(self._get_bboxes_single(
                [cls_scores[i][img_id].detach() for i in range(num_levels)],
                [bbox_preds[i][img_id].detach() for i in range(num_levels)],
                [guided_anchors[img_id][i].detach() for i in range(num_levels)],
                [loc_masks[img_id][i].detach() for i in range(num_levels)],
                img_meta['img_shape'], img_meta['scale_factor'], cfg, rescale, with_nms))
        return result_list

    def _get_bboxes_single(self, cls_scores: List[Tensor],  # type: ignore[override]
                           bbox_preds: List[Tensor], mlvl_anchors: List[Tensor],
                           mlvl_masks: List[Tensor], img_shape: Sequence[int], scale_factor,
                           cfg: Optional[dict], rescale: bool = False,
                           with_nms: bool = True) -> Union[Detections, DenseCandidates]:
        """Of one image: per level the kept locations' scores, the ``nms_pre`` best by their
        top class, decoded; then every (box, class) pair above ``score_thr`` goes to
        :meth:`_bbox_post_process` (class-aware NMS, ``max_per_img``).

        ``cls_scores[l]`` (C, H_l, W_l), ``bbox_preds[l]`` (4, H_l, W_l), ``mlvl_anchors[l]``
        (k_l, 4) guided anchors of the locations kept by ``mlvl_masks[l]`` (P_l,).
        """
        cfg = self.resolve_test_cfg(cfg)
        nms_pre = cfg.get('nms_pre', -1)
        score_thr = cfg.get('score_thr', 0.0)
        mlvl_bboxes, mlvl_scores, mlvl_labels = [], [], []
        for cls_score, bbox_pred, anchors, mask in zip(cls_scores, bbox_preds, mlvl_anchors,
                                                       mlvl_masks):
            if cls_score.shape[-2:] != bbox_pred.shape[-2:]:
                raise ValueError(f'cls_score {tuple(cls_score.shape)} and bbox_pred '
                                 f'{tuple(bbox_pred.shape)} of one level differ in size')
            if not mask.any():
                continue
            cls_score = cls_score.permute(1, 2, 0).reshape(-1, self.cls_out_channels)[mask]
            if self.use_sigmoid_cls:
                scores = cls_score.sigmoid()
            else:
                # The last softmax column is the background class.
                scores = cls_score.softmax(-1)[:, :-1]
            bbox_pred = bbox_pred.permute(1, 2, 0).reshape(-1, 4)[mask]
            if 0 < nms_pre < scores.shape[0]:
                _, topk_inds = scores.max(dim=1)[0].topk(nms_pre)
                anchors, bbox_pred, scores = (anchors[topk_inds], bbox_pred[topk_inds],
                                              scores[topk_inds])
            bboxes = self.bbox_coder.decode(anchors, bbox_pred, max_shape=img_shape)
            # every (box, class) pair above the threshold, box-major as 2.x's multiclass NMS
            box_inds, labels = (scores > score_thr).nonzero(as_tuple=True)
            mlvl_bboxes.append(bboxes[box_inds])
            mlvl_scores.append(scores[box_inds, labels])
            mlvl_labels.append(labels)
        if not mlvl_bboxes:
            empty = cls_scores[0].new_zeros(0, 4)
            mlvl_bboxes, mlvl_scores = [empty], [empty.new_zeros(0)]
            mlvl_labels = [empty.new_zeros(0, dtype=torch.long)]
        return self._bbox_post_process(mlvl_scores, mlvl_labels, mlvl_bboxes, scale_factor,
                                       cfg, rescale, with_nms)
