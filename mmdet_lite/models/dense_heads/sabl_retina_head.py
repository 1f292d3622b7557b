"""SABLRetinaHead: RetinaNet with side-aware boundary localization (Wang et al., ECCV 2020;
mmdetection 2.x).

One square anchor per location; each box side is predicted as a bucket (``retina_bbox_cls``,
``S`` buckets per side) plus a fine offset (``retina_bbox_reg``) by ``BucketingBBoxCoder``.
Squares are assigned by their approximating anchors, as in guided anchoring
(``ApproxMaxIoUAssigner``), and the buckets' localisation confidence rescales the scores.

Shape shorthand: ``N`` images, ``L`` levels, ``C`` classes (sigmoid), ``H_l x W_l`` a level's
size, ``P_l = H_l * W_l`` squares of level l, ``S`` = ``side_num`` = ceil(num_buckets / 2).
"""
import copy
import math
import warnings
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor, nn

from ...core import (build_assigner, build_bbox_coder, build_prior_generator, build_sampler,
                     filter_scores_and_topk, images_to_levels, multi_apply, unmap)
from ...core.utils.config import as_config
from ..builder import HEADS, build_loss
from ..utils.conv_module import ConvModule
from ..utils.gt_check import check_gt_bboxes
from ..utils.results import DenseCandidates, Detections, ImageSABLTargets, SABLTargets
from .base_dense_head import BaseDenseHead
from .guided_anchor_head import GuidedAnchorHead

_FOCAL_LIKE = ('FocalLoss', 'GHMC', 'QualityFocalLoss')


@HEADS.register_module()
class SABLRetinaHead(BaseDenseHead):
    """RetinaNet towers (``cls_convs``, ``reg_convs``) with ``retina_cls`` (C),
    ``retina_bbox_cls`` (4 * S bucket scores) and ``retina_bbox_reg`` (4 * S offsets).

    Args:
        num_classes / in_channels / stacked_convs / feat_channels / conv_cfg / norm_cfg: as
            ``RetinaHead``.
        approx_anchor_generator / square_anchor_generator: as ``GuidedAnchorHead``.
        bbox_coder: ``BucketingBBoxCoder`` config.
        reg_decoded_bbox: kept for 2.x compatibility (the buckets are never decoded in the
            loss).
        loss_cls / loss_bbox_cls / loss_bbox_reg: classification, bucket and offset losses.
        train_cfg: ``assigner`` (``ApproxMaxIoUAssigner``), optional ``sampler``,
            ``allowed_border``, ``pos_weight``.
        test_cfg: ``nms_pre``, ``score_thr``, ``nms``, ``max_per_img``.
    """

    # the approximants and their inside flags are guided anchoring's
    get_sampled_approxs = GuidedAnchorHead.get_sampled_approxs

    def __init__(self, num_classes: int, in_channels: int, stacked_convs: int = 4,
                 feat_channels: int = 256, approx_anchor_generator: Optional[dict] = None,
                 square_anchor_generator: Optional[dict] = None,
                 conv_cfg: Optional[dict] = None, norm_cfg: Optional[dict] = None,
                 bbox_coder: Optional[dict] = None, reg_decoded_bbox: bool = False,
                 train_cfg: Optional[dict] = None, test_cfg: Optional[dict] = None,
                 loss_cls: Optional[dict] = None, loss_bbox_cls: Optional[dict] = None,
                 loss_bbox_reg: Optional[dict] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None):
        if approx_anchor_generator is None:
            approx_anchor_generator = dict(type='AnchorGenerator', octave_base_scale=4,
                                           scales_per_octave=3, ratios=[0.5, 1.0, 2.0],
                                           strides=[8, 16, 32, 64, 128])
        if square_anchor_generator is None:
            square_anchor_generator = dict(type='AnchorGenerator', ratios=[1.0], scales=[4],
                                           strides=[8, 16, 32, 64, 128])
        if bbox_coder is None:
            bbox_coder = dict(type='BucketingBBoxCoder', num_buckets=14, scale_factor=3.0)
        if loss_cls is None:
            loss_cls = dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25,
                            loss_weight=1.0)
        if loss_bbox_cls is None:
            loss_bbox_cls = dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.5)
        if loss_bbox_reg is None:
            loss_bbox_reg = dict(type='SmoothL1Loss', beta=1.0 / 9.0, loss_weight=1.5)
        if init_cfg is None:
            init_cfg = dict(type='Normal', layer='Conv2d', std=0.01,
                            override=dict(type='Normal', name='retina_cls', std=0.01,
                                          bias_prob=0.01))
        super().__init__(init_cfg)
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.feat_channels = feat_channels
        self.num_buckets = bbox_coder['num_buckets']
        self.side_num = int(math.ceil(self.num_buckets / 2))
        if approx_anchor_generator.get('octave_base_scale') != \
                square_anchor_generator.get('scales', [None])[0]:
            raise ValueError(
                f"SABLRetinaHead: approx_anchor_generator.octave_base_scale="
                f"{approx_anchor_generator.get('octave_base_scale')} must equal "
                f"square_anchor_generator.scales[0]={square_anchor_generator.get('scales')}")
        if list(approx_anchor_generator['strides']) != list(square_anchor_generator['strides']):
            raise ValueError('SABLRetinaHead: the approx and square anchor generators need the '
                             'same strides')
        self.approx_anchor_generator = build_prior_generator(
            copy.deepcopy(approx_anchor_generator))
        self.square_anchor_generator = build_prior_generator(
            copy.deepcopy(square_anchor_generator))
        self.approxs_per_octave = self.approx_anchor_generator.num_base_priors[0]
        self.num_base_priors = self.square_anchor_generator.num_base_priors[0]
        self.stacked_convs = stacked_convs
        self.conv_cfg = conv_cfg
        self.norm_cfg = norm_cfg
        self.reg_decoded_bbox = reg_decoded_bbox
        self.use_sigmoid_cls = loss_cls.get('use_sigmoid', False)
        self.sampling = loss_cls['type'] not in _FOCAL_LIKE
        self.cls_out_channels = num_classes if self.use_sigmoid_cls else num_classes + 1
        self.bbox_coder = build_bbox_coder(copy.deepcopy(bbox_coder))
        self.loss_cls = build_loss(copy.deepcopy(loss_cls))
        self.loss_bbox_cls = build_loss(copy.deepcopy(loss_bbox_cls))
        self.loss_bbox_reg = build_loss(copy.deepcopy(loss_bbox_reg))
        self.train_cfg = as_config(train_cfg)
        self.test_cfg = as_config(test_cfg)
        if self.train_cfg:
            self.assigner = build_assigner(copy.deepcopy(self.train_cfg.assigner))
            if self.sampling and 'sampler' in self.train_cfg:
                sampler_cfg = self.train_cfg.sampler
            else:
                sampler_cfg = dict(type='PseudoSampler')
            self.sampler = build_sampler(copy.deepcopy(sampler_cfg), context=self)
        self.fp16_enabled = False
        self._init_layers()

    @property
    def num_anchors(self) -> int:
        """Deprecated 2.x alias of ``num_base_priors``; warns."""
        warnings.warn('DeprecationWarning: `num_anchors` is deprecated, please use '
                      '"num_base_priors" instead')
        return self.square_anchor_generator.num_base_priors[0]

    def _init_layers(self) -> None:
        self.relu = nn.ReLU(inplace=True)
        self.cls_convs = nn.ModuleList()
        self.reg_convs = nn.ModuleList()
        for i in range(self.stacked_convs):
            chn = self.in_channels if i == 0 else self.feat_channels
            for convs in (self.cls_convs, self.reg_convs):
                convs.append(ConvModule(chn, self.feat_channels, 3, stride=1, padding=1,
                                        conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg))
        self.retina_cls = nn.Conv2d(self.feat_channels, self.cls_out_channels, 3, padding=1)
        self.retina_bbox_reg = nn.Conv2d(self.feat_channels, self.side_num * 4, 3, padding=1)
        self.retina_bbox_cls = nn.Conv2d(self.feat_channels, self.side_num * 4, 3, padding=1)

    def forward_single(self, x: Tensor) -> Tuple[Tensor, Tuple[Tensor, Tensor]]:
        """Of one level: (N, C_in, H, W) -> scores (N, C, H, W) and the pair (bucket scores,
        bucket offsets), each (N, 4 * S, H, W)."""
        cls_feat = x
        reg_feat = x
        for cls_conv in self.cls_convs:
            cls_feat = cls_conv(cls_feat)
        for reg_conv in self.reg_convs:
            reg_feat = reg_conv(reg_feat)
        cls_score = self.retina_cls(cls_feat)
        return cls_score, (self.retina_bbox_cls(reg_feat), self.retina_bbox_reg(reg_feat))

    def forward(self, feats: Sequence[Tensor]) -> tuple:
        """L feature maps -> (cls_scores, bbox_preds) lists over levels."""
        return multi_apply(self.forward_single, feats)

    def get_anchors(self, featmap_sizes: List[Tuple[int, int]], img_metas: List[dict],
                    device: Union[str, torch.device] = 'cpu') -> List[List[Tensor]]:
        """Per image, per level the squares (P_l, 4)."""
        multi_level_squares = self.square_anchor_generator.grid_priors(featmap_sizes,
                                                                       device=device)
        return [multi_level_squares for _ in img_metas]

    def get_target(self, approx_list: List[List[Tensor]], inside_flag_list: List[List[Tensor]],
                   square_list: List[List[Tensor]], gt_bboxes_list: List[Tensor],
                   img_metas: List[dict], gt_bboxes_ignore_list: Optional[List[Tensor]] = None,
                   gt_labels_list: Optional[List[Tensor]] = None,
                   label_channels: Optional[int] = None, sampling: bool = True,
                   unmap_outputs: bool = True) -> SABLTargets:
        """Bucketing targets of a batch, regrouped per level (2.x's name, ``get_target``)."""
        num_imgs = len(img_metas)
        if not (len(approx_list) == len(inside_flag_list) == len(square_list) == num_imgs):
            raise ValueError(f'{num_imgs} img_metas but {len(approx_list)} approx lists, '
                             f'{len(inside_flag_list)} flag lists, {len(square_list)} squares')
        check_gt_bboxes(gt_bboxes_list, img_metas, gt_labels_list,
                        None if gt_labels_list is None else self.num_classes)
        num_level_squares = [squares.size(0) for squares in square_list[0]]
        if gt_bboxes_ignore_list is None:
            gt_bboxes_ignore_list = [None] * num_imgs
        if gt_labels_list is None:
            gt_labels_list = [None] * num_imgs
        results = multi_apply(
            self._get_target_single, [torch.cat(a) for a in approx_list],
            [torch.cat(f) for f in inside_flag_list], [torch.cat(s) for s in square_list],
            gt_bboxes_list, gt_bboxes_ignore_list, gt_labels_list, img_metas,
            label_channels=label_channels, sampling=sampling, unmap_outputs=unmap_outputs)
        pos_inds_list, neg_inds_list = results[6], results[7]
        return SABLTargets(*[images_to_levels(r, num_level_squares) for r in results[:6]],
                           sum(max(inds.numel(), 1) for inds in pos_inds_list),
                           sum(max(inds.numel(), 1) for inds in neg_inds_list))

    def _get_target_single(self, flat_approxs: Tensor, inside_flags: Tensor,
                           flat_squares: Tensor, gt_bboxes: Tensor,
                           gt_bboxes_ignore: Optional[Tensor], gt_labels: Optional[Tensor],
                           img_meta: dict, label_channels: Optional[int] = None,
                           sampling: bool = True, unmap_outputs: bool = True
                           ) -> ImageSABLTargets:
        """Of one image: assign the P squares by their approximants ``flat_approxs``
        (P * A_a, 4), sample, and encode the positives' GTs into buckets."""
        if not inside_flags.any():
            raise ValueError(
                f"no anchor location lies inside image {img_meta.get('filename', '<no name>')!r}"
                f" (img_shape={tuple(img_meta['img_shape'])}); set train_cfg.allowed_border=-1 "
                'or use larger images')
        expand_inside_flags = inside_flags[:, None].expand(
            -1, self.approxs_per_octave).reshape(-1)
        approxs = flat_approxs[expand_inside_flags]
        squares = flat_squares[inside_flags]
        assign_result = self.assigner.assign(approxs, squares, self.approxs_per_octave,
                                             gt_bboxes, gt_bboxes_ignore)
        sampling_result = self.sampler.sample(assign_result, squares, gt_bboxes)
        num_valid = squares.shape[0]
        bucket_shape = (num_valid, self.side_num * 4)
        bbox_cls_targets = squares.new_zeros(bucket_shape)
        bbox_cls_weights = squares.new_zeros(bucket_shape)
        bbox_reg_targets = squares.new_zeros(bucket_shape)
        bbox_reg_weights = squares.new_zeros(bucket_shape)
        labels = squares.new_full((num_valid, ), self.num_classes, dtype=torch.long)
        label_weights = squares.new_zeros(num_valid, dtype=torch.float)
        pos_inds = sampling_result.pos_inds
        neg_inds = sampling_result.neg_inds
        if len(pos_inds) > 0:
            reg_targets, reg_weights, cls_targets, cls_weights = self.bbox_coder.encode(
                sampling_result.pos_bboxes, sampling_result.pos_gt_bboxes)
            bbox_cls_targets[pos_inds] = cls_targets
            bbox_reg_targets[pos_inds] = reg_targets
            bbox_cls_weights[pos_inds] = cls_weights
            bbox_reg_weights[pos_inds] = reg_weights
            if gt_labels is None:
                labels[pos_inds] = 0
            else:
                labels[pos_inds] = gt_labels[sampling_result.pos_assigned_gt_inds]
            pos_weight = self.train_cfg.get('pos_weight', -1)
            label_weights[pos_inds] = 1.0 if pos_weight <= 0 else pos_weight
        if len(neg_inds) > 0:
            label_weights[neg_inds] = 1.0
        if unmap_outputs:
            total = flat_squares.size(0)
            labels = unmap(labels, total, inside_flags, fill=self.num_classes)
            label_weights = unmap(label_weights, total, inside_flags)
            bbox_cls_targets = unmap(bbox_cls_targets, total, inside_flags)
            bbox_cls_weights = unmap(bbox_cls_weights, total, inside_flags)
            bbox_reg_targets = unmap(bbox_reg_targets, total, inside_flags)
            bbox_reg_weights = unmap(bbox_reg_weights, total, inside_flags)
        return ImageSABLTargets(labels, label_weights, bbox_cls_targets, bbox_cls_weights,
                                bbox_reg_targets, bbox_reg_weights, pos_inds, neg_inds)

    def loss_single(self, cls_score: Tensor, bbox_pred: Tuple[Tensor, Tensor], labels: Tensor,
                    label_weights: Tensor, bbox_cls_targets: Tensor, bbox_cls_weights: Tensor,
                    bbox_reg_targets: Tensor, bbox_reg_weights: Tensor,
                    num_total_samples: int) -> Tuple[Tensor, Tensor, Tensor]:
        """Of one level: classification, bucket (averaged over samples x 4 sides x S) and
        offset (averaged over samples x 4 sides x ``offset_topk``) losses."""
        cls_score = cls_score.permute(0, 2, 3, 1).reshape(-1, self.cls_out_channels)
        loss_cls = self.loss_cls(cls_score, labels.reshape(-1), label_weights.reshape(-1),
                                 avg_factor=num_total_samples)
        width = self.side_num * 4
        bbox_cls_pred, bbox_reg_pred = bbox_pred
        bbox_cls_pred = bbox_cls_pred.permute(0, 2, 3, 1).reshape(-1, width)
        bbox_reg_pred = bbox_reg_pred.permute(0, 2, 3, 1).reshape(-1, width)
        loss_bbox_cls = self.loss_bbox_cls(
            bbox_cls_pred, bbox_cls_targets.reshape(-1, width).long(),
            bbox_cls_weights.reshape(-1, width), avg_factor=num_total_samples * width)
        loss_bbox_reg = self.loss_bbox_reg(
            bbox_reg_pred, bbox_reg_targets.reshape(-1, width),
            bbox_reg_weights.reshape(-1, width),
            avg_factor=num_total_samples * 4 * self.bbox_coder.offset_topk)
        return loss_cls, loss_bbox_cls, loss_bbox_reg

    def loss(self, cls_scores: List[Tensor], bbox_preds: List[Tuple[Tensor, Tensor]],
             gt_bboxes: List[Tensor], gt_labels: Optional[List[Tensor]], img_metas: List[dict],
             gt_bboxes_ignore: Optional[List[Tensor]] = None) -> Dict[str, List[Tensor]]:
        """Per-level ``loss_cls``, ``loss_bbox_cls``, ``loss_bbox_reg``."""
        if not self.train_cfg:
            raise ValueError('SABLRetinaHead.loss needs train_cfg (an ApproxMaxIoUAssigner '
                             'assigner, allowed_border, pos_weight); set model.train_cfg')
        featmap_sizes = [featmap.size()[-2:] for featmap in cls_scores]
        if len(featmap_sizes) != self.approx_anchor_generator.num_levels:
            raise ValueError(f'{len(featmap_sizes)} feature levels but the anchor generators '
                             f'have {self.approx_anchor_generator.num_levels} strides')
        device = cls_scores[0].device
        approxs_list, inside_flag_list = self.get_sampled_approxs(featmap_sizes, img_metas,
                                                                  device=device)
        square_list = self.get_anchors(featmap_sizes, img_metas, device=device)
        label_channels = self.cls_out_channels if self.use_sigmoid_cls else 1
        targets = self.get_target(approxs_list, inside_flag_list, square_list, gt_bboxes,
                                  img_metas, gt_bboxes_ignore_list=gt_bboxes_ignore,
                                  gt_labels_list=gt_labels, label_channels=label_channels,
                                  sampling=self.sampling)
        num_total_samples = targets.num_total_pos
        if self.sampling:
            num_total_samples += targets.num_total_neg
        losses_cls, losses_bbox_cls, losses_bbox_reg = multi_apply(
            self.loss_single, cls_scores, bbox_preds, *targets[:6],
            num_total_samples=num_total_samples)
        return dict(loss_cls=losses_cls, loss_bbox_cls=losses_bbox_cls,
                    loss_bbox_reg=losses_bbox_reg)

    def aug_test(self, feats: List[Sequence[Tensor]], img_metas: List[List[dict]],
                 rescale: bool = False) -> List[Detections]:
        """Flip/scale TTA: see ``BBoxTestMixin.aug_test_bboxes`` (2.28's head had none)."""
        return self.aug_test_bboxes(feats, img_metas, rescale=rescale)

    def get_bboxes(self, cls_scores: List[Tensor],  # type: ignore[override]
                   bbox_preds: List[Tuple[Tensor, Tensor]],
                   img_metas: Optional[List[dict]] = None, cfg: Optional[dict] = None,
                   rescale: bool = False, with_nms: bool = True) -> list:
        """Per image ``Detections`` (or ``DenseCandidates`` without NMS); 2.x's signature plus
        ``with_nms``."""
        if len(cls_scores) != len(bbox_preds):
            raise ValueError(f'{len(cls_scores)} levels of cls_scores but {len(bbox_preds)} '
                             'of bbox_preds')
        if img_metas is None:
            raise ValueError('get_bboxes needs img_metas (img_shape, scale_factor per image)')
        num_levels = len(cls_scores)
        featmap_sizes = [featmap.size()[-2:] for featmap in cls_scores]
        mlvl_anchors = self.get_anchors(featmap_sizes, img_metas, device=cls_scores[0].device)
        return [
            self._get_bboxes_single(
                [cls_scores[i][img_id].detach() for i in range(num_levels)],
                [bbox_preds[i][0][img_id].detach() for i in range(num_levels)],
                [bbox_preds[i][1][img_id].detach() for i in range(num_levels)],
                mlvl_anchors[img_id], img_meta['img_shape'], img_meta['scale_factor'], cfg,
                rescale, with_nms)
            for img_id, img_meta in enumerate(img_metas)
        ]

    def _get_bboxes_single(self, cls_scores: List[Tensor],  # type: ignore[override]
                           bbox_cls_preds: List[Tensor], bbox_reg_preds: List[Tensor],
                           mlvl_anchors: List[Tensor], img_shape: Sequence[int], scale_factor,
                           cfg: Optional[dict], rescale: bool = False,
                           with_nms: bool = True) -> Union[Detections, DenseCandidates]:
        """Of one image: per level the ``nms_pre`` best (square, class) pairs above
        ``score_thr``, decoded from their buckets; scores times the localisation confidence,
        then :meth:`_bbox_post_process`."""
        cfg = self.resolve_test_cfg(cfg)
        nms_pre = cfg.get('nms_pre', -1)
        score_thr = cfg.get('score_thr', 0.0)
        width = self.side_num * 4
        mlvl_bboxes, mlvl_scores, mlvl_confids, mlvl_labels = [], [], [], []
        for cls_score, bbox_cls_pred, bbox_reg_pred, anchors in zip(
                cls_scores, bbox_cls_preds, bbox_reg_preds, mlvl_anchors):
            if not cls_score.shape[-2:] == bbox_cls_pred.shape[-2:] == bbox_reg_pred.shape[-2:]:
                raise ValueError('cls_score and the bucket predictions of one level differ in '
                                 f'size: {tuple(cls_score.shape)}, {tuple(bbox_cls_pred.shape)}')
            cls_score = cls_score.permute(1, 2, 0).reshape(-1, self.cls_out_channels)
            if self.use_sigmoid_cls:
                scores = cls_score.sigmoid()
            else:
                scores = cls_score.softmax(-1)[:, :-1]
            topk = nms_pre if nms_pre > 0 else scores.numel()
            scores, labels, _, filtered = filter_scores_and_topk(
                scores, score_thr, topk, dict(
                    anchors=anchors,
                    bbox_cls_pred=bbox_cls_pred.permute(1, 2, 0).reshape(-1, width),
                    bbox_reg_pred=bbox_reg_pred.permute(1, 2, 0).reshape(-1, width)))
            bboxes, confids = self.bbox_coder.decode(
                filtered['anchors'].contiguous(),
                [filtered['bbox_cls_pred'].contiguous(), filtered['bbox_reg_pred'].contiguous()],
                max_shape=img_shape)
            mlvl_bboxes.append(bboxes)
            mlvl_scores.append(scores)
            mlvl_confids.append(confids)
            mlvl_labels.append(labels)
        return self._bbox_post_process(mlvl_scores, mlvl_labels, mlvl_bboxes, scale_factor, cfg,
                                       rescale, with_nms, mlvl_confids)
