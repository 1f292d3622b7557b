"""AnchorHead: the anchor-based dense head every RPN/RetinaNet-style head builds on (mmdet 2.x).

Shape shorthand:
    N: images in the batch            L: FPN levels
    A: anchors per location (``num_base_priors``)
    C: classification outputs per anchor (``cls_out_channels``: num_classes with a sigmoid
       classifier, num_classes + 1 with softmax)
    H_l, W_l: size of level l         P_l = H_l * W_l * A anchors of level l; P = sum_l P_l
    k: ground-truth boxes of one image

Extension point (docs/conventions.md §4): a subclass that overrides only ``_init_layers`` and
``forward_single`` (and optionally ``init_weights``) trains and tests unchanged.
"""
import copy
import warnings
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor, nn

from ...core import (anchor_inside_flags, build_assigner, build_bbox_coder,
                     build_prior_generator, build_sampler, images_to_levels, multi_apply, unmap)
from ..builder import HEADS, build_loss
from ...core.utils.config import as_config
from ..utils.gt_check import check_gt_bboxes
from ..utils.results import AnchorTargets, Detections, ImageAnchorTargets, SampledAnchorTargets
from .base_dense_head import BaseDenseHead

_FOCAL_LIKE = ('FocalLoss', 'GHMC', 'QualityFocalLoss')


@HEADS.register_module()
class AnchorHead(BaseDenseHead):
    """Anchor-based head: one 1x1 conv for classes and one for box deltas per level.

    Args:
        num_classes: foreground classes (background excluded).
        in_channels: channels of the input feature maps.
        feat_channels: hidden channels (used by subclasses' conv towers).
        anchor_generator: prior generator config (``AnchorGenerator``).
        bbox_coder: box coder config (``DeltaXYWHBBoxCoder``).
        reg_decoded_bbox: regress decoded boxes (for IoU-style losses) instead of deltas.
        loss_cls / loss_bbox: loss configs.
        train_cfg: ``assigner``, optional ``sampler``, ``allowed_border``, ``pos_weight``.
        test_cfg: ``nms_pre``, ``score_thr``, ``nms``, ``max_per_img`` (RPN: ``min_bbox_size``).
        init_cfg: weight init config.
    """

    def __init__(self, num_classes: int, in_channels: int, feat_channels: int = 256,
                 anchor_generator: Optional[dict] = None,
                 bbox_coder: Optional[dict] = None,
                 reg_decoded_bbox: bool = False,
                 loss_cls: Optional[dict] = None,
                 loss_bbox: Optional[dict] = None,
                 train_cfg: Optional[dict] = None, test_cfg: Optional[dict] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None):
        if init_cfg is None:
            init_cfg = dict(type='Normal', layer='Conv2d', std=0.01)
        super().__init__(init_cfg=init_cfg)
        if anchor_generator is None:
            anchor_generator = dict(type='AnchorGenerator', scales=[8, 16, 32],
                                    ratios=[0.5, 1.0, 2.0], strides=[4, 8, 16, 32, 64])
        if bbox_coder is None:
            bbox_coder = dict(type='DeltaXYWHBBoxCoder', clip_border=True,
                              target_means=(.0, .0, .0, .0), target_stds=(1.0, 1.0, 1.0, 1.0))
        if loss_cls is None:
            loss_cls = dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0)
        if loss_bbox is None:
            loss_bbox = dict(type='SmoothL1Loss', beta=1.0 / 9.0, loss_weight=1.0)
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.feat_channels = feat_channels
        self.use_sigmoid_cls = loss_cls.get('use_sigmoid', False)
        self.cls_out_channels = num_classes if self.use_sigmoid_cls else num_classes + 1
        if self.cls_out_channels <= 0:
            raise ValueError(f'num_classes={num_classes} is too small: the head needs at least '
                             'one foreground class')
        self.reg_decoded_bbox = reg_decoded_bbox
        self.bbox_coder = build_bbox_coder(copy.deepcopy(bbox_coder))
        self.loss_cls = build_loss(copy.deepcopy(loss_cls))
        self.loss_bbox = build_loss(copy.deepcopy(loss_bbox))
        self.train_cfg = as_config(train_cfg)
        self.test_cfg = as_config(test_cfg)
        self.sampling = False
        if self.train_cfg:
            self.assigner = build_assigner(copy.deepcopy(self.train_cfg.assigner))
            sampler_cfg = self.train_cfg.get('sampler')
            if (sampler_cfg is not None
                    and sampler_cfg['type'].split('.')[-1] != 'PseudoSampler'
                    and loss_cls['type'] not in _FOCAL_LIKE):
                self.sampling = True
            else:
                # Focal-style losses weigh every anchor: sampling would only drop data.
                sampler_cfg = dict(type='PseudoSampler')
            self.sampler = build_sampler(copy.deepcopy(sampler_cfg), context=self)
        self.fp16_enabled = False
        self.prior_generator = build_prior_generator(copy.deepcopy(anchor_generator))
        self.num_base_priors = self.prior_generator.num_base_priors[0]
        self._init_layers()

    @property
    def num_anchors(self) -> int:
        """Deprecated 2.x alias of ``num_base_priors`` (A); warns as 2.x did."""
        warnings.warn('DeprecationWarning: `num_anchors` is deprecated, for consistency or also '
                      'use `num_base_priors` instead')
        return self.num_base_priors

    @property
    def anchor_generator(self):
        """Deprecated 2.x alias of ``prior_generator``; warns as 2.x did."""
        warnings.warn('DeprecationWarning: anchor_generator is deprecated, please use '
                      '"prior_generator" instead')
        return self.prior_generator

    def _init_layers(self) -> None:
        self.conv_cls = nn.Conv2d(self.in_channels, self.num_base_priors * self.cls_out_channels,
                                  1)
        self.conv_reg = nn.Conv2d(self.in_channels, self.num_base_priors * 4, 1)

    def forward_single(self, x: Tensor) -> Tuple[Tensor, Tensor]:
        """Of one level: (N, C_in, H, W) → (N, A * C, H, W) scores, (N, A * 4, H, W) deltas."""
        return self.conv_cls(x), self.conv_reg(x)

    def forward(self, feats: Sequence[Tensor]) -> Tuple[List[Tensor], List[Tensor]]:
        """L feature maps → (cls_scores, bbox_preds), each a list over levels."""
        return multi_apply(self.forward_single, feats)

    def get_anchors(self, featmap_sizes: List[Tuple[int, int]], img_metas: List[dict],
                    device: Union[str, torch.device] = 'cpu'
                    ) -> Tuple[List[List[Tensor]], List[List[Tensor]]]:
        """Per image, per level: anchors (P_l, 4) and valid flags (P_l,) (inside ``pad_shape``)."""
        multi_level_anchors = self.prior_generator.grid_priors(featmap_sizes, device=device)
        anchor_list = [multi_level_anchors for _ in img_metas]
        valid_flag_list = [
            self.prior_generator.valid_flags(featmap_sizes, img_meta['pad_shape'], device)
            for img_meta in img_metas
        ]
        return anchor_list, valid_flag_list

    def _get_targets_single(self, flat_anchors: Tensor, valid_flags: Tensor, gt_bboxes: Tensor,
                            gt_bboxes_ignore: Optional[Tensor], gt_labels: Optional[Tensor],
                            img_meta: dict, label_channels: int = 1,
                            unmap_outputs: bool = True) -> ImageAnchorTargets:
        """Of one image: assign and sample the P anchors, then build the regression targets.

        Returns:
            ``ImageAnchorTargets``: labels (P,) with ``num_classes`` for background,
            label_weights (P,), bbox_targets (P, 4), bbox_weights (P, 4), pos_inds, neg_inds,
            sampling_result. A subclass may return more values after these seven;
            ``get_targets`` regroups them per level after its own results.
        """
        allowed_border = self.train_cfg.get('allowed_border', -1)
        inside_flags = anchor_inside_flags(flat_anchors, valid_flags, img_meta['img_shape'][:2],
                                           allowed_border)
        if not inside_flags.any():
            raise ValueError(
                f"no anchor lies inside image {img_meta.get('filename', '<no filename>')!r} "
                f"(img_shape={tuple(img_meta['img_shape'])}, pad_shape="
                f"{tuple(img_meta.get('pad_shape', ()))}, train_cfg.allowed_border="
                f'{allowed_border}); set allowed_border=-1 to keep border anchors, or use '
                'larger input images / smaller anchor scales')
        anchors = flat_anchors[inside_flags]
        assign_result = self.assigner.assign(anchors, gt_bboxes, gt_bboxes_ignore,
                                             None if self.sampling else gt_labels)
        sampling_result = self.sampler.sample(assign_result, anchors, gt_bboxes)

        num_valid = anchors.shape[0]
        bbox_targets = torch.zeros_like(anchors)
        bbox_weights = torch.zeros_like(anchors)
        labels = anchors.new_full((num_valid,), self.num_classes, dtype=torch.long)
        label_weights = anchors.new_zeros(num_valid, dtype=torch.float)
        pos_inds = sampling_result.pos_inds
        neg_inds = sampling_result.neg_inds
        if len(pos_inds) > 0:
            if self.reg_decoded_bbox:
                pos_bbox_targets = sampling_result.pos_gt_bboxes
            else:
                pos_bbox_targets = self.bbox_coder.encode(sampling_result.pos_bboxes,
                                                          sampling_result.pos_gt_bboxes)
            bbox_targets[pos_inds, :] = pos_bbox_targets.to(bbox_targets.dtype)
            bbox_weights[pos_inds, :] = 1.0
            if gt_labels is None:
                # RPN: a single foreground class.
                labels[pos_inds] = 0
            else:
                labels[pos_inds] = gt_labels[sampling_result.pos_assigned_gt_inds]
            pos_weight = self.train_cfg.get('pos_weight', -1)
            label_weights[pos_inds] = 1.0 if pos_weight <= 0 else pos_weight
        if len(neg_inds) > 0:
            label_weights[neg_inds] = 1.0

        if unmap_outputs:
            num_total = flat_anchors.size(0)
            labels = unmap(labels, num_total, inside_flags, fill=self.num_classes)
            label_weights = unmap(label_weights, num_total, inside_flags)
            bbox_targets = unmap(bbox_targets, num_total, inside_flags)
            bbox_weights = unmap(bbox_weights, num_total, inside_flags)
        return ImageAnchorTargets(labels, label_weights, bbox_targets, bbox_weights, pos_inds,
                                  neg_inds, sampling_result)

    def get_targets(self, anchor_list: List[List[Tensor]], valid_flag_list: List[List[Tensor]],
                    gt_bboxes_list: List[Tensor], img_metas: List[dict],
                    gt_bboxes_ignore_list: Optional[List[Tensor]] = None,
                    gt_labels_list: Optional[List[Tensor]] = None, label_channels: int = 1,
                    unmap_outputs: bool = True, return_sampling_results: bool = False
                    ) -> Union[AnchorTargets, SampledAnchorTargets, tuple]:
        """Targets of a batch, regrouped per level.

        Returns:
            ``AnchorTargets``: labels_list, label_weights_list (L x (N, P_l)),
            bbox_targets_list, bbox_weights_list (L x (N, P_l, 4)), num_total_pos,
            num_total_neg (each at least 1 per image); ``SampledAnchorTargets`` (the same plus
            sampling_results_list) when ``return_sampling_results``. When a subclass's
            ``_get_targets_single`` returns extra values, they follow, regrouped per level, and
            the result is a plain tuple (2.x's order).
        """
        num_imgs = len(img_metas)
        if not (len(anchor_list) == len(valid_flag_list) == len(gt_bboxes_list) == num_imgs):
            raise ValueError(f'{num_imgs} img_metas but {len(anchor_list)} anchor lists and '
                             f'{len(gt_bboxes_list)} gt_bboxes: give one of each per image')
        check_gt_bboxes(gt_bboxes_list, img_metas, gt_labels_list,
                        None if gt_labels_list is None else self.num_classes)
        num_level_anchors = [anchors.size(0) for anchors in anchor_list[0]]
        concat_anchor_list = [torch.cat(anchors) for anchors in anchor_list]
        concat_valid_flag_list = [torch.cat(flags) for flags in valid_flag_list]
        if gt_bboxes_ignore_list is None:
            gt_bboxes_ignore_list = [None] * num_imgs
        if gt_labels_list is None:
            gt_labels_list = [None] * num_imgs
        results = multi_apply(self._get_targets_single, concat_anchor_list,
                              concat_valid_flag_list, gt_bboxes_list, gt_bboxes_ignore_list,
                              gt_labels_list, img_metas, label_channels=label_channels,
                              unmap_outputs=unmap_outputs)
        (all_labels, all_label_weights, all_bbox_targets, all_bbox_weights, pos_inds_list,
         neg_inds_list, sampling_results_list) = results[:7]
        rest_results = list(results[7:])
        num_total_pos = sum(max(inds.numel(), 1) for inds in pos_inds_list)
        num_total_neg = sum(max(inds.numel(), 1) for inds in neg_inds_list)
        targets = AnchorTargets(images_to_levels(all_labels, num_level_anchors),
                                images_to_levels(all_label_weights, num_level_anchors),
                                images_to_levels(all_bbox_targets, num_level_anchors),
                                images_to_levels(all_bbox_weights, num_level_anchors),
                                num_total_pos, num_total_neg)
        if return_sampling_results:
            targets = SampledAnchorTargets(*targets, sampling_results_list)
        if not rest_results:
            return targets
        return tuple(targets) + tuple(images_to_levels(r, num_level_anchors)
                                      for r in rest_results)

    def loss_single(self, cls_score: Tensor, bbox_pred: Tensor, anchors: Tensor, labels: Tensor,
                    label_weights: Tensor, bbox_targets: Tensor, bbox_weights: Tensor,
                    num_total_samples: int) -> Tuple[Tensor, Tensor]:
        """Of one level: cls_score (N, A * C, H, W), bbox_pred (N, A * 4, H, W), anchors
        (N, P_l, 4), labels / label_weights (N, P_l), bbox targets / weights (N, P_l, 4)."""
        labels = labels.reshape(-1)
        label_weights = label_weights.reshape(-1)
        cls_score = cls_score.permute(0, 2, 3, 1).reshape(-1, self.cls_out_channels)
        loss_cls = self.loss_cls(cls_score, labels, label_weights, avg_factor=num_total_samples)
        bbox_targets = bbox_targets.reshape(-1, 4)
        bbox_weights = bbox_weights.reshape(-1, 4)
        bbox_pred = bbox_pred.permute(0, 2, 3, 1).reshape(-1, 4)
        if self.reg_decoded_bbox:
            bbox_pred = self.bbox_coder.decode(anchors.reshape(-1, 4), bbox_pred)
        loss_bbox = self.loss_bbox(bbox_pred, bbox_targets, bbox_weights,
                                   avg_factor=num_total_samples)
        return loss_cls, loss_bbox

    def loss(self, cls_scores: List[Tensor], bbox_preds: List[Tensor], gt_bboxes: List[Tensor],
             gt_labels: Optional[List[Tensor]], img_metas: List[dict],
             gt_bboxes_ignore: Optional[List[Tensor]] = None) -> Dict[str, List[Tensor]]:
        """Per-level ``loss_cls`` / ``loss_bbox`` lists of the outputs L x (N, ., H_l, W_l)."""
        if not self.train_cfg:
            raise ValueError(f'{type(self).__name__}.loss needs train_cfg (assigner, '
                             'allowed_border, pos_weight); set model.train_cfg in the config')
        featmap_sizes = [featmap.size()[-2:] for featmap in cls_scores]
        if len(featmap_sizes) != self.prior_generator.num_levels:
            raise ValueError(f'{len(featmap_sizes)} feature levels but the anchor generator has '
                             f'{self.prior_generator.num_levels} strides; make neck.num_outs '
                             'equal len(anchor_generator.strides)')
        device = cls_scores[0].device
        anchor_list, valid_flag_list = self.get_anchors(featmap_sizes, img_metas, device=device)
        label_channels = self.cls_out_channels if self.use_sigmoid_cls else 1
        # AnchorTargets(*...) also names a ported 2.x get_targets' plain 6-tuple.
        targets = AnchorTargets(*self.get_targets(
            anchor_list, valid_flag_list, gt_bboxes, img_metas,
            gt_bboxes_ignore_list=gt_bboxes_ignore, gt_labels_list=gt_labels,
            label_channels=label_channels))
        if self.sampling:
            num_total_samples = targets.num_total_pos + targets.num_total_neg
        else:
            num_total_samples = targets.num_total_pos
        num_level_anchors = [anchors.size(0) for anchors in anchor_list[0]]
        concat_anchor_list = [torch.cat(anchors) for anchors in anchor_list]
        all_anchor_list = images_to_levels(concat_anchor_list, num_level_anchors)
        losses_cls, losses_bbox = multi_apply(
            self.loss_single, cls_scores, bbox_preds, all_anchor_list, targets.labels_list,
            targets.label_weights_list, targets.bbox_targets_list, targets.bbox_weights_list,
            num_total_samples=num_total_samples)
        return dict(loss_cls=losses_cls, loss_bbox=losses_bbox)

    def aug_test(self, feats: List[Sequence[Tensor]], img_metas: List[List[dict]],
                 rescale: bool = False) -> List[Detections]:
        """Flip/scale TTA: see ``BBoxTestMixin.aug_test_bboxes``."""
        return self.aug_test_bboxes(feats, img_metas, rescale=rescale)

