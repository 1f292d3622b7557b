"""StageCascadeRPNHead: one stage of Cascade RPN (Vu et al., NeurIPS 2019; mmdetection 2.x).

Each stage regresses the previous stage's boxes (the first stage: one square anchor per
location) with an ``AdaptiveConv`` aligned to those boxes; ``refine_bboxes`` turns its
predictions into the next stage's anchors. The first stage of 2.x's configs is trained with
``RegionAssigner`` (anchors by centre region, no sampling), the later ones with IoU assignment.

Shape shorthand: ``N`` images, ``L`` levels, ``P_l = H_l * W_l`` anchors of level l (one per
location), ``n`` proposals.
"""
import copy
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor, nn

from ...core import (RegionAssigner, build_assigner, build_sampler, images_to_levels,
                     multi_apply, select_single_mlvl)
from ..builder import HEADS
from ..utils.gt_check import check_gt_bboxes
from ..utils.results import AnchorTargets, ImageAnchorTargets
from .adaptive_conv import AdaptiveConv
from .rpn_head import RPNHead


@HEADS.register_module()
class StageCascadeRPNHead(RPNHead):
    """One Cascade RPN stage: ``rpn_conv`` (``AdaptiveConv``) + ReLU, then ``rpn_cls``
    (optional) and ``rpn_reg``.

    Args:
        in_channels: input channels.
        anchor_generator: the first stage's anchors (one square per location).
        adapt_cfg: ``AdaptiveConv`` arguments (``type='dilation'`` / ``'offset'``).
        bridged_feature: pass this stage's features (instead of its input) to the next stage.
        with_cls: predict objectness (2.x's first stage does not).
        sampling: sample anchors with ``train_cfg.sampler`` (else every anchor, loss averaged
            over anchors / 200, as guided anchoring).
        Others: as :class:`RPNHead`.
    """

    def __init__(self, in_channels: int, anchor_generator: Optional[dict] = None,
                 adapt_cfg: Optional[dict] = None, bridged_feature: bool = False,
                 with_cls: bool = True, sampling: bool = True,
                 init_cfg: Optional[Union[dict, List[dict]]] = None, **kwargs):
        if anchor_generator is None:
            anchor_generator = dict(type='AnchorGenerator', scales=[8], ratios=[1.0],
                                    strides=[4, 8, 16, 32, 64])
        if adapt_cfg is None:
            adapt_cfg = dict(type='dilation', dilation=3)
        self.with_cls = with_cls
        self.anchor_strides = anchor_generator['strides']
        self.anchor_scales = anchor_generator['scales']
        self.bridged_feature = bridged_feature
        self.adapt_cfg = copy.deepcopy(adapt_cfg)
        super().__init__(in_channels, anchor_generator=anchor_generator, init_cfg=init_cfg,
                         **kwargs)
        self.sampling = sampling
        if self.train_cfg:
            self.assigner = build_assigner(copy.deepcopy(self.train_cfg.assigner))
            if self.sampling and 'sampler' in self.train_cfg:
                sampler_cfg = self.train_cfg.sampler
            else:
                sampler_cfg = dict(type='PseudoSampler')
            self.sampler = build_sampler(copy.deepcopy(sampler_cfg), context=self)
        if init_cfg is None:
            self.init_cfg = dict(type='Normal', std=0.01, override=[dict(name='rpn_reg')])
            if self.with_cls:
                self.init_cfg['override'].append(dict(name='rpn_cls'))

    def _init_layers(self) -> None:
        self.rpn_conv = AdaptiveConv(self.in_channels, self.feat_channels, **self.adapt_cfg)
        if self.with_cls:
            self.rpn_cls = nn.Conv2d(self.feat_channels,
                                     self.num_base_priors * self.cls_out_channels, 1)
        self.rpn_reg = nn.Conv2d(self.feat_channels, self.num_base_priors * 4, 1)
        self.relu = nn.ReLU(inplace=True)

    def forward_single(self, x: Tensor, offset: Optional[Tensor]  # type: ignore[override]
                       ) -> Tuple[Tensor, Optional[Tensor], Tensor]:
        """Of one level: features (N, C, H, W) and offsets (N, H * W, 18) or None ->
        (features for the next stage, objectness (N, 1, H, W) or None, deltas (N, 4, H, W))."""
        bridged_x = x
        x = self.relu(self.rpn_conv(x, offset))
        if self.bridged_feature:
            bridged_x = x
        cls_score = self.rpn_cls(x) if self.with_cls else None
        return bridged_x, cls_score, self.rpn_reg(x)

    def forward(self, feats: Sequence[Tensor],  # type: ignore[override]
                offset_list: Optional[List[Tensor]] = None) -> tuple:
        """Per level: (features, cls_scores, bbox_preds) lists."""
        if offset_list is None:
            offset_list = [None] * len(feats)
        return multi_apply(self.forward_single, feats, offset_list)

    def _region_targets_single(self, anchors: List[Tensor], valid_flags: List[Tensor],
                               gt_bboxes: Tensor, gt_bboxes_ignore: Optional[Tensor],
                               gt_labels: Optional[Tensor], img_meta: dict,
                               featmap_sizes: List[Tuple[int, int]],
                               label_channels: int = 1) -> ImageAnchorTargets:
        """Of one image: ``RegionAssigner`` targets over all levels' anchors (``anchors[l]``
        (P_l, 4), ``valid_flags[l]`` (P_l,)).

        Labels follow the rest of mmdet_lite (0 for an object, ``num_classes`` for background);
        2.x wrote 1 for objects and 0 elsewhere here, the reverse for a one-class sigmoid loss,
        but none of its configs classifies with region targets (their first stage has no
        ``rpn_cls``).
        """
        assign_result = self.assigner.assign(
            anchors, valid_flags, gt_bboxes, img_meta, featmap_sizes, self.anchor_scales[0],
            self.anchor_strides, gt_bboxes_ignore=gt_bboxes_ignore, gt_labels=None,
            allowed_border=self.train_cfg.get('allowed_border', -1))
        flat_anchors = torch.cat(anchors)
        sampling_result = self.sampler.sample(assign_result, flat_anchors, gt_bboxes)
        num_anchors = flat_anchors.shape[0]
        bbox_targets = torch.zeros_like(flat_anchors)
        bbox_weights = torch.zeros_like(flat_anchors)
        labels = flat_anchors.new_full((num_anchors, ), self.num_classes, dtype=torch.long)
        label_weights = flat_anchors.new_zeros(num_anchors, dtype=torch.float)
        pos_inds = sampling_result.pos_inds
        neg_inds = sampling_result.neg_inds
        if len(pos_inds) > 0:
            if self.reg_decoded_bbox:
                pos_bbox_targets = sampling_result.pos_gt_bboxes
            else:
                pos_bbox_targets = self.bbox_coder.encode(sampling_result.pos_bboxes,
                                                          sampling_result.pos_gt_bboxes)
            bbox_targets[pos_inds, :] = pos_bbox_targets
            bbox_weights[pos_inds, :] = 1.0
            if gt_labels is None:
                labels[pos_inds] = 0
            else:
                labels[pos_inds] = gt_labels[sampling_result.pos_assigned_gt_inds]
            pos_weight = self.train_cfg.get('pos_weight', -1)
            label_weights[pos_inds] = 1.0 if pos_weight <= 0 else pos_weight
        if len(neg_inds) > 0:
            label_weights[neg_inds] = 1.0
        return ImageAnchorTargets(labels, label_weights, bbox_targets, bbox_weights, pos_inds,
                                  neg_inds, sampling_result)

    def region_targets(self, anchor_list: List[List[Tensor]],
                       valid_flag_list: List[List[Tensor]], gt_bboxes_list: List[Tensor],
                       img_metas: List[dict], featmap_sizes: List[Tuple[int, int]],
                       gt_bboxes_ignore_list: Optional[List[Tensor]] = None,
                       gt_labels_list: Optional[List[Tensor]] = None, label_channels: int = 1,
                       unmap_outputs: bool = True) -> AnchorTargets:
        """``RegionAssigner`` targets of a batch, regrouped per level (``AnchorTargets``)."""
        num_imgs = len(img_metas)
        if not len(anchor_list) == len(valid_flag_list) == num_imgs:
            raise ValueError(f'{num_imgs} img_metas but {len(anchor_list)} anchor lists and '
                             f'{len(valid_flag_list)} valid-flag lists')
        check_gt_bboxes(gt_bboxes_list, img_metas)
        num_level_anchors = [anchors.size(0) for anchors in anchor_list[0]]
        if gt_bboxes_ignore_list is None:
            gt_bboxes_ignore_list = [None] * num_imgs
        if gt_labels_list is None:
            gt_labels_list = [None] * num_imgs
        (all_labels, all_label_weights, all_bbox_targets, all_bbox_weights, pos_inds_list,
         neg_inds_list, _) = multi_apply(
             self._region_targets_single, anchor_list, valid_flag_list, gt_bboxes_list,
             gt_bboxes_ignore_list, gt_labels_list, img_metas, featmap_sizes=featmap_sizes,
             label_channels=label_channels)
        num_total_pos = sum(max(inds.numel(), 1) for inds in pos_inds_list)
        num_total_neg = sum(max(inds.numel(), 1) for inds in neg_inds_list)
        return AnchorTargets(images_to_levels(all_labels, num_level_anchors),
                             images_to_levels(all_label_weights, num_level_anchors),
                             images_to_levels(all_bbox_targets, num_level_anchors),
                             images_to_levels(all_bbox_weights, num_level_anchors),
                             num_total_pos, num_total_neg)

    def get_targets(self, anchor_list: List[List[Tensor]],  # type: ignore[override]
                    valid_flag_list: List[List[Tensor]], gt_bboxes: List[Tensor],
                    img_metas: List[dict], featmap_sizes: List[Tuple[int, int]],
                    gt_bboxes_ignore: Optional[List[Tensor]] = None,
                    label_channels: int = 1) -> AnchorTargets:
        """Region targets with ``RegionAssigner``, else ``AnchorHead``'s IoU-based targets."""
        if isinstance(self.assigner, RegionAssigner):
            return self.region_targets(anchor_list, valid_flag_list, gt_bboxes, img_metas,
                                       featmap_sizes, gt_bboxes_ignore_list=gt_bboxes_ignore,
                                       label_channels=label_channels)
        return AnchorTargets(*super().get_targets(
            anchor_list, valid_flag_list, gt_bboxes, img_metas,
            gt_bboxes_ignore_list=gt_bboxes_ignore, label_channels=label_channels))

    def anchor_offset(self, anchor_list: List[List[Tensor]], anchor_strides: Sequence,
                      featmap_sizes: List[Tuple[int, int]]) -> List[Tensor]:
        """Offsets (per level (N, P_l, 18)) that make a 3x3 deformable conv at each location
        sample its anchor: the 3x3 grid stretched to the anchor's size and moved to its centre,
        in feature-map cells. Kernel tap k (row-major) has its (dy, dx) at 2k, 2k + 1.
        """
        num_level_anchors = [anchors.size(0) for anchors in anchor_list[0]]
        dtype, device = anchor_list[0][0].dtype, anchor_list[0][0].device
        grid = torch.arange(-1, 2, dtype=dtype, device=device)
        tap_y, tap_x = torch.meshgrid(grid, grid, indexing='ij')
        tap_y, tap_x = tap_y.reshape(-1), tap_x.reshape(-1)
        offset_list = []
        for anchors_of_img in anchor_list:
            mlvl_offset = []
            for anchors, stride, (feat_h, feat_w) in zip(anchors_of_img, anchor_strides,
                                                         featmap_sizes):
                stride = stride[0] if isinstance(stride, (tuple, list)) else stride
                if anchors.size(0) != feat_h * feat_w:
                    raise ValueError(f'anchor_offset: {anchors.size(0)} anchors for a '
                                     f'{feat_h} x {feat_w} level; one anchor per location')
                # shape: the 3x3 taps spread over the anchor (kernel 3, dilation 1)
                w = (anchors[:, 2] - anchors[:, 0]) / stride / 2 - 1
                h = (anchors[:, 3] - anchors[:, 1]) / stride / 2 - 1
                # centre: the anchor's centre relative to its location
                cx = (anchors[:, 0] + anchors[:, 2]) * 0.5 / stride
                cy = (anchors[:, 1] + anchors[:, 3]) * 0.5 / stride
                ys, xs = torch.meshgrid(torch.arange(feat_h, device=device),
                                        torch.arange(feat_w, device=device), indexing='ij')
                offset_x = w[:, None] * tap_x + (cx - xs.reshape(-1).type_as(cx))[:, None]
                offset_y = h[:, None] * tap_y + (cy - ys.reshape(-1).type_as(cy))[:, None]
                offset = torch.stack([offset_y, offset_x], dim=-1)
                mlvl_offset.append(offset.reshape(offset.size(0), -1))
            offset_list.append(torch.cat(mlvl_offset))
        return images_to_levels(offset_list, num_level_anchors)

    def loss_single(self, cls_score: Optional[Tensor], bbox_pred: Tensor, anchors: Tensor,
                    labels: Tensor, label_weights: Tensor, bbox_targets: Tensor,
                    bbox_weights: Tensor, num_total_samples: float
                    ) -> Tuple[Optional[Tensor], Tensor]:
        """Of one level: objectness loss (None without ``rpn_cls``) and box loss."""
        loss_cls = None
        if self.with_cls:
            cls_score = cls_score.permute(0, 2, 3, 1).reshape(-1, self.cls_out_channels)
            loss_cls = self.loss_cls(cls_score, labels.reshape(-1), label_weights.reshape(-1),
                                     avg_factor=num_total_samples)
        bbox_targets = bbox_targets.reshape(-1, 4)
        bbox_weights = bbox_weights.reshape(-1, 4)
        bbox_pred = bbox_pred.permute(0, 2, 3, 1).reshape(-1, 4)
        if self.reg_decoded_bbox:
            bbox_pred = self.bbox_coder.decode(anchors.reshape(-1, 4), bbox_pred)
        loss_reg = self.loss_bbox(bbox_pred, bbox_targets, bbox_weights,
                                  avg_factor=num_total_samples)
        return loss_cls, loss_reg

    def loss(self, anchor_list: List[List[Tensor]],  # type: ignore[override]
             valid_flag_list: List[List[Tensor]], cls_scores: List[Optional[Tensor]],
             bbox_preds: List[Tensor], gt_bboxes: List[Tensor], img_metas: List[dict],
             gt_bboxes_ignore: Optional[List[Tensor]] = None) -> Dict[str, List[Tensor]]:
        """Per level ``loss_rpn_reg`` (and ``loss_rpn_cls`` with ``rpn_cls``) of this stage's
        anchors (``anchor_list[i][l]`` (P_l, 4))."""
        if not self.train_cfg:
            raise ValueError(f'{type(self).__name__}.loss needs train_cfg; give the detector '
                             'train_cfg.rpn = one dict per stage')
        featmap_sizes = [featmap.size()[-2:] for featmap in bbox_preds]
        label_channels = self.cls_out_channels if self.use_sigmoid_cls else 1
        targets = self.get_targets(anchor_list, valid_flag_list, gt_bboxes, img_metas,
                                   featmap_sizes, gt_bboxes_ignore=gt_bboxes_ignore,
                                   label_channels=label_channels)
        if self.sampling:
            num_total_samples = targets.num_total_pos + targets.num_total_neg
        else:
            # 2.x's fixed averaging (as guided anchoring): all anchors / 200
            num_total_samples = sum(label.numel() for label in targets.labels_list) / 200.0
        mlvl_anchor_list = [torch.cat(anchors, dim=0) for anchors in zip(*anchor_list)]
        losses_cls, losses_reg = multi_apply(
            self.loss_single, cls_scores, bbox_preds, mlvl_anchor_list, targets.labels_list,
            targets.label_weights_list, targets.bbox_targets_list, targets.bbox_weights_list,
            num_total_samples=num_total_samples)
        if self.with_cls:
            return dict(loss_rpn_cls=losses_cls, loss_rpn_reg=losses_reg)
        return dict(loss_rpn_reg=losses_reg)

    def get_bboxes(self, anchor_list: List[List[Tensor]],  # type: ignore[override]
                   cls_scores: List[Tensor], bbox_preds: List[Tensor], img_metas: List[dict],
                   cfg: Optional[dict] = None, rescale: bool = False) -> List[Tensor]:
        """Per image proposals (n, 5) from this stage's anchors and predictions (2.x's
        signature: the anchors first); the per-image work is ``RPNHead._get_bboxes_single``
        with the refined anchors as priors."""
        if len(cls_scores) != len(bbox_preds):
            raise ValueError(f'{len(cls_scores)} levels of cls_scores but {len(bbox_preds)} '
                             'of bbox_preds')
        if cls_scores[0] is None:
            raise ValueError(f'{type(self).__name__} with with_cls=False scores no proposals; '
                             'the last stage must have with_cls=True')
        num_levels = len(cls_scores)
        return [
            self._get_bboxes_single(select_single_mlvl(cls_scores, img_id),
                                    select_single_mlvl(bbox_preds, img_id), [None] * num_levels,
                                    anchor_list[img_id], img_meta, cfg, rescale)
            for img_id, img_meta in enumerate(img_metas)
        ]

    def refine_bboxes(self, anchor_list: List[List[Tensor]], bbox_preds: List[Tensor],
                      img_metas: List[dict]) -> List[List[Tensor]]:
        """The next stage's anchors: this stage's deltas decoded on its anchors, clipped to
        the image (no gradient)."""
        new_anchor_list = []
        for img_id, img_meta in enumerate(img_metas):
            mlvl_anchors = []
            for level, bbox_pred in enumerate(bbox_preds):
                deltas = bbox_pred[img_id].detach().permute(1, 2, 0).reshape(-1, 4)
                mlvl_anchors.append(self.bbox_coder.decode(anchor_list[img_id][level], deltas,
                                                           img_meta['img_shape']))
            new_anchor_list.append(mlvl_anchors)
        return new_anchor_list
