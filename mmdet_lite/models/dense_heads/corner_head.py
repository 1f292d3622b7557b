"""CornerHead: CornerNet's corner heat maps, embeddings and offsets (Law & Deng, 2018), mmdet 2.x.

Shape shorthand:
    B: images in the batch        C: classes
    L: feature levels (``num_feat_levels``: one per hourglass stack; the last one is decoded)
    H, W: size of the output map  k: ``test_cfg.corner_topk`` corners of each kind kept

Each level pools its features towards the top-left and bottom-right corners
(:class:`BiCornerPool`), then predicts per corner kind a class heat map (logits), an
associative embedding (``corner_emb_channels``) and a sub-pixel offset. Decoding pairs the k
best top-left with the k best bottom-right corners of the same class whose embeddings differ
by at most ``distance_threshold``.
"""
import copy
import warnings
from math import ceil, log
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple, Union

import torch
from mmengine.config import ConfigDict
from mmengine.model import BaseModule, bias_init_with_prob
from torch import Tensor, nn

from ...core import batched_nms, multi_apply
from ...core.bbox.scale_factor import scale_factor_tensor
from ...core.utils.config import as_config
from ..builder import HEADS, build_loss
from ..layers.corner_pool import CornerPool
from ..utils.conv_module import ConvModule
from ..utils.gaussian_target import (gather_feat, gaussian_radius, gen_gaussian_target,
                                     get_local_maximum, get_topk_from_heatmap,
                                     transpose_and_gather_feat)
from ..utils.gt_check import check_gt_bboxes
from ..utils.results import Detections
from .base_dense_head import BaseDenseHead


class CornerTargets(NamedTuple):
    """Of a batch (``CornerHead.get_targets``): ``topleft_heatmap`` / ``bottomright_heatmap``
    (B, C, H, W) Gaussians at the GT corners; ``topleft_offset`` / ``bottomright_offset``
    (B, 2, H, W) sub-pixel offsets at the corner cells; ``corner_embedding``: per image the
    list of ``[[top, left], [bottom, right]]`` cells of its boxes (None without embeddings);
    CentripetalNet's ``*_guiding_shift`` (corner cell to box centre, output pixels) and
    ``*_centripetal_shift`` (log of the corner-to-centre distance) (B, 2, H, W), or None."""
    topleft_heatmap: Tensor
    topleft_offset: Tensor
    bottomright_heatmap: Tensor
    bottomright_offset: Tensor
    corner_embedding: Optional[List[list]]
    topleft_guiding_shift: Optional[Tensor] = None
    bottomright_guiding_shift: Optional[Tensor] = None
    topleft_centripetal_shift: Optional[Tensor] = None
    bottomright_centripetal_shift: Optional[Tensor] = None

    def __getitem__(self, key):
        """``targets['name']`` as well: 2.x returned these targets as a dict."""
        return getattr(self, key) if isinstance(key, str) else tuple.__getitem__(self, key)


class BiCornerPool(BaseModule):
    """Two corner pools of conv features, added, then a residual conv block.

    Args:
        in_channels: input channels.
        directions: the two pooling directions, e.g. ``['top', 'left']``.
        feat_channels: channels of the pooled branches.
        out_channels: output channels.
        norm_cfg: norm of the convs.
    """

    def __init__(self, in_channels: int, directions: Sequence[str], feat_channels: int = 128,
                 out_channels: int = 128, norm_cfg: Optional[dict] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None):
        super().__init__(init_cfg)
        if norm_cfg is None:
            norm_cfg = dict(type='BN', requires_grad=True)
        self.direction1_conv = ConvModule(in_channels, feat_channels, 3, padding=1,
                                          norm_cfg=norm_cfg)
        self.direction2_conv = ConvModule(in_channels, feat_channels, 3, padding=1,
                                          norm_cfg=norm_cfg)
        self.aftpool_conv = ConvModule(feat_channels, out_channels, 3, padding=1,
                                       norm_cfg=norm_cfg, act_cfg=None)
        self.conv1 = ConvModule(in_channels, out_channels, 1, norm_cfg=norm_cfg, act_cfg=None)
        self.conv2 = ConvModule(in_channels, out_channels, 3, padding=1, norm_cfg=norm_cfg)
        self.direction1_pool = CornerPool(directions[0])
        self.direction2_pool = CornerPool(directions[1])
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        """(B, C_in, H, W) → (B, out_channels, H, W)."""
        pooled = (self.direction1_pool(self.direction1_conv(x))
                  + self.direction2_pool(self.direction2_conv(x)))
        return self.conv2(self.relu(self.aftpool_conv(pooled) + self.conv1(x)))


@HEADS.register_module()
class CornerHead(BaseDenseHead):
    """Per level ``tl_pool`` / ``br_pool`` (:class:`BiCornerPool`), and for each corner kind
    ``*_heat`` (C), ``*_emb`` (``corner_emb_channels``) and ``*_off`` (2) predictors, each a
    3x3 ConvModule then a 1x1 conv.

    Args:
        num_classes: classes of the heat maps.
        in_channels: channels of the input feature maps.
        num_feat_levels: levels (hourglass stacks); each is trained, the last is decoded.
        corner_emb_channels: embedding channels (0: no embedding branch).
        train_cfg: unused (kept for the detector's interface).
        test_cfg: ``corner_topk``, ``local_maximum_kernel``, ``distance_threshold``,
            ``score_thr``, ``max_per_img``, ``nms``.
        loss_heatmap / loss_embedding / loss_offset: loss configs (each may be None).
        init_cfg: must be None (as 2.x: :meth:`init_weights` sets the predictors).
    """

    def __init__(self, num_classes: int, in_channels: int, num_feat_levels: int = 2,
                 corner_emb_channels: int = 1, train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 loss_heatmap: Optional[dict] = dict(type='GaussianFocalLoss', alpha=2.0,
                                                     gamma=4.0, loss_weight=1),
                 loss_embedding: Optional[dict] = dict(type='AssociativeEmbeddingLoss',
                                                       pull_weight=0.25, push_weight=0.25),
                 loss_offset: Optional[dict] = dict(type='SmoothL1Loss', beta=1.0,
                                                    loss_weight=1),
                 init_cfg: Optional[Union[dict, List[dict]]] = None):
        if init_cfg is not None:
            raise ValueError('CornerHead: init_cfg must be None (its init_weights sets the '
                             'predictors, as 2.x)')
        super().__init__(init_cfg)
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.corner_emb_channels = corner_emb_channels
        self.with_corner_emb = self.corner_emb_channels > 0
        self.corner_offset_channels = 2
        self.num_feat_levels = num_feat_levels
        self.loss_heatmap = (build_loss(copy.deepcopy(loss_heatmap))
                             if loss_heatmap is not None else None)
        self.loss_embedding = (build_loss(copy.deepcopy(loss_embedding))
                               if loss_embedding is not None else None)
        self.loss_offset = (build_loss(copy.deepcopy(loss_offset))
                            if loss_offset is not None else None)
        self.train_cfg = as_config(train_cfg)
        self.test_cfg = as_config(test_cfg)
        self.fp16_enabled = False
        self._init_layers()

    def _make_layers(self, out_channels: int, in_channels: int = 256,
                     feat_channels: int = 256) -> nn.Sequential:
        return nn.Sequential(ConvModule(in_channels, feat_channels, 3, padding=1),
                             ConvModule(feat_channels, out_channels, 1, norm_cfg=None,
                                        act_cfg=None))

    def _init_corner_kpt_layers(self) -> None:
        self.tl_pool, self.br_pool = nn.ModuleList(), nn.ModuleList()
        self.tl_heat, self.br_heat = nn.ModuleList(), nn.ModuleList()
        self.tl_off, self.br_off = nn.ModuleList(), nn.ModuleList()
        for _ in range(self.num_feat_levels):
            self.tl_pool.append(BiCornerPool(self.in_channels, ['top', 'left'],
                                             out_channels=self.in_channels))
            self.br_pool.append(BiCornerPool(self.in_channels, ['bottom', 'right'],
                                             out_channels=self.in_channels))
            for heads, channels in ((self.tl_heat, self.num_classes),
                                    (self.br_heat, self.num_classes),
                                    (self.tl_off, self.corner_offset_channels),
                                    (self.br_off, self.corner_offset_channels)):
                heads.append(self._make_layers(out_channels=channels,
                                               in_channels=self.in_channels))

    def _init_corner_emb_layers(self) -> None:
        self.tl_emb, self.br_emb = nn.ModuleList(), nn.ModuleList()
        for _ in range(self.num_feat_levels):
            self.tl_emb.append(self._make_layers(out_channels=self.corner_emb_channels,
                                                 in_channels=self.in_channels))
            self.br_emb.append(self._make_layers(out_channels=self.corner_emb_channels,
                                                 in_channels=self.in_channels))

    def _init_layers(self) -> None:
        self._init_corner_kpt_layers()
        if self.with_corner_emb:
            self._init_corner_emb_layers()

    def init_weights(self) -> None:
        """As 2.x: PyTorch's default init of the final convs, heat-map biases at probability
        0.1."""
        super().init_weights()
        bias_init = bias_init_with_prob(0.1)
        for i in range(self.num_feat_levels):
            for heads in (self.tl_heat, self.br_heat):
                heads[i][-1].conv.reset_parameters()
                heads[i][-1].conv.bias.data.fill_(bias_init)
            self.tl_off[i][-1].conv.reset_parameters()
            self.br_off[i][-1].conv.reset_parameters()
            if self.with_corner_emb:
                self.tl_emb[i][-1].conv.reset_parameters()
                self.br_emb[i][-1].conv.reset_parameters()

    def forward(self, feats: Sequence[Tensor]) -> Tuple[List[Optional[Tensor]], ...]:
        """L feature maps → (tl_heats, br_heats, tl_embs, br_embs, tl_offs, br_offs), each a
        list over levels (the embeddings None without the embedding branch)."""
        return multi_apply(self.forward_single, feats, list(range(self.num_feat_levels)))

    def forward_single(self, x: Tensor, lvl_ind: int, return_pool: bool = False) -> list:
        """Of one level: (B, C_in, H, W) → tl_heat, br_heat (B, C, H, W) logits, tl_emb,
        br_emb (B, E, H, W) or None, tl_off, br_off (B, 2, H, W) (and the pooled features
        with ``return_pool``)."""
        tl_pool = self.tl_pool[lvl_ind](x)
        br_pool = self.br_pool[lvl_ind](x)
        tl_emb = br_emb = None
        if self.with_corner_emb:
            tl_emb = self.tl_emb[lvl_ind](tl_pool)
            br_emb = self.br_emb[lvl_ind](br_pool)
        result = [self.tl_heat[lvl_ind](tl_pool), self.br_heat[lvl_ind](br_pool), tl_emb,
                  br_emb, self.tl_off[lvl_ind](tl_pool), self.br_off[lvl_ind](br_pool)]
        if return_pool:
            result += [tl_pool, br_pool]
        return result

    def get_targets(self, gt_bboxes: List[Tensor], gt_labels: List[Tensor],
                    feat_shape: Sequence[int], img_shape: Sequence[int],
                    with_corner_emb: bool = False, with_guiding_shift: bool = False,
                    with_centripetal_shift: bool = False) -> CornerTargets:
        """Targets of the (B, C, H, W) output for boxes in an ``img_shape`` (h, w, ...) input:
        per box a Gaussian of CornerNet's radius (IoU 0.3) at each corner cell in its class
        channel, the corners' sub-pixel offsets, (``with_corner_emb``) the corner cells and
        CentripetalNet's guiding / centripetal shifts at the corner cells."""
        batch_size, _, height, width = feat_shape
        img_h, img_w = img_shape[:2]
        width_ratio = float(width / img_w)
        height_ratio = float(height / img_h)
        gt_tl_heatmap = gt_bboxes[-1].new_zeros([batch_size, self.num_classes, height, width])
        gt_br_heatmap = gt_bboxes[-1].new_zeros([batch_size, self.num_classes, height, width])
        gt_tl_offset = gt_bboxes[-1].new_zeros([batch_size, 2, height, width])
        gt_br_offset = gt_bboxes[-1].new_zeros([batch_size, 2, height, width])
        match = [] if with_corner_emb else None
        shift_maps = [gt_bboxes[-1].new_zeros([batch_size, 2, height, width])
                      if flag else None for flag in (with_guiding_shift, with_guiding_shift,
                                                     with_centripetal_shift,
                                                     with_centripetal_shift)]
        tl_guiding, br_guiding, tl_centripetal, br_centripetal = shift_maps
        for batch_id in range(batch_size):
            corner_match = []
            for box_id in range(len(gt_labels[batch_id])):
                left, top, right, bottom = gt_bboxes[batch_id][box_id]
                label = gt_labels[batch_id][box_id]
                scale_left, scale_right = left * width_ratio, right * width_ratio
                scale_top, scale_bottom = top * height_ratio, bottom * height_ratio
                left_idx = int(min(scale_left, width - 1))
                right_idx = int(min(scale_right, width - 1))
                top_idx = int(min(scale_top, height - 1))
                bottom_idx = int(min(scale_bottom, height - 1))
                radius = gaussian_radius((ceil(scale_bottom - scale_top),
                                          ceil(scale_right - scale_left)), min_overlap=0.3)
                radius = max(0, int(radius))
                gen_gaussian_target(gt_tl_heatmap[batch_id, label], [left_idx, top_idx],
                                    radius)
                gen_gaussian_target(gt_br_heatmap[batch_id, label], [right_idx, bottom_idx],
                                    radius)
                gt_tl_offset[batch_id, 0, top_idx, left_idx] = scale_left - left_idx
                gt_tl_offset[batch_id, 1, top_idx, left_idx] = scale_top - top_idx
                gt_br_offset[batch_id, 0, bottom_idx, right_idx] = scale_right - right_idx
                gt_br_offset[batch_id, 1, bottom_idx, right_idx] = scale_bottom - bottom_idx
                if with_corner_emb:
                    corner_match.append([[top_idx, left_idx], [bottom_idx, right_idx]])
                scale_center_x = (left + right) / 2.0 * width_ratio
                scale_center_y = (top + bottom) / 2.0 * height_ratio
                if with_guiding_shift:
                    tl_guiding[batch_id, 0, top_idx, left_idx] = scale_center_x - left_idx
                    tl_guiding[batch_id, 1, top_idx, left_idx] = scale_center_y - top_idx
                    br_guiding[batch_id, 0, bottom_idx, right_idx] = right_idx - scale_center_x
                    br_guiding[batch_id, 1, bottom_idx, right_idx] = \
                        bottom_idx - scale_center_y
                if with_centripetal_shift:
                    tl_centripetal[batch_id, 0, top_idx, left_idx] = log(
                        scale_center_x - scale_left)
                    tl_centripetal[batch_id, 1, top_idx, left_idx] = log(
                        scale_center_y - scale_top)
                    br_centripetal[batch_id, 0, bottom_idx, right_idx] = log(
                        scale_right - scale_center_x)
                    br_centripetal[batch_id, 1, bottom_idx, right_idx] = log(
                        scale_bottom - scale_center_y)
            if with_corner_emb:
                match.append(corner_match)
        return CornerTargets(gt_tl_heatmap, gt_tl_offset, gt_br_heatmap, gt_br_offset, match,
                             tl_guiding, br_guiding, tl_centripetal, br_centripetal)

    def loss(self, tl_heats: List[Tensor], br_heats: List[Tensor],
             tl_embs: List[Optional[Tensor]], br_embs: List[Optional[Tensor]],
             tl_offs: List[Tensor], br_offs: List[Tensor], gt_bboxes: List[Tensor],
             gt_labels: List[Tensor], img_metas: List[dict],
             gt_bboxes_ignore: Optional[List[Tensor]] = None) -> Dict[str, List[Tensor]]:
        """Per level ``det_loss`` and ``off_loss`` (and ``pull_loss`` / ``push_loss`` with
        embeddings), all levels against the same targets."""
        check_gt_bboxes(gt_bboxes, img_metas, gt_labels, self.num_classes)
        targets = self.get_targets(gt_bboxes, gt_labels, tl_heats[-1].shape,
                                   img_metas[0]['pad_shape'],
                                   with_corner_emb=self.with_corner_emb)
        mlvl_targets = [targets for _ in range(self.num_feat_levels)]
        det_losses, pull_losses, push_losses, off_losses = multi_apply(
            self.loss_single, tl_heats, br_heats, tl_embs, br_embs, tl_offs, br_offs,
            mlvl_targets)
        loss_dict = dict(det_loss=det_losses, off_loss=off_losses)
        if self.with_corner_emb:
            loss_dict.update(pull_loss=pull_losses, push_loss=push_losses)
        return loss_dict

    def loss_single(self, tl_hmp: Tensor, br_hmp: Tensor, tl_emb: Optional[Tensor],
                    br_emb: Optional[Tensor], tl_off: Tensor, br_off: Tensor,
                    targets: CornerTargets) -> Tuple[Tensor, Optional[Tensor],
                                                     Optional[Tensor], Tensor]:
        """Of one level: heat-map focal loss (averaged over the GT corners), embedding pull /
        push losses, offset loss at the GT corner cells; each averaged over both corners."""
        gt_tl_hmp, gt_br_hmp = targets.topleft_heatmap, targets.bottomright_heatmap
        det_loss = (self.loss_heatmap(tl_hmp.sigmoid(), gt_tl_hmp,
                                      avg_factor=max(1, gt_tl_hmp.eq(1).sum()))
                    + self.loss_heatmap(br_hmp.sigmoid(), gt_br_hmp,
                                        avg_factor=max(1, gt_br_hmp.eq(1).sum()))) / 2.0
        if self.with_corner_emb and self.loss_embedding is not None:
            pull_loss, push_loss = self.loss_embedding(tl_emb, br_emb,
                                                       targets.corner_embedding)
        else:
            pull_loss, push_loss = None, None
        tl_off_mask = gt_tl_hmp.eq(1).sum(1).gt(0).unsqueeze(1).type_as(gt_tl_hmp)
        br_off_mask = gt_br_hmp.eq(1).sum(1).gt(0).unsqueeze(1).type_as(gt_br_hmp)
        off_loss = (self.loss_offset(tl_off, targets.topleft_offset, tl_off_mask,
                                     avg_factor=max(1, tl_off_mask.sum()))
                    + self.loss_offset(br_off, targets.bottomright_offset, br_off_mask,
                                       avg_factor=max(1, br_off_mask.sum()))) / 2.0
        return det_loss, pull_loss, push_loss, off_loss

    def get_bboxes(self, tl_heats: List[Tensor], br_heats: List[Tensor],
                   tl_embs: List[Optional[Tensor]], br_embs: List[Optional[Tensor]],
                   tl_offs: List[Tensor], br_offs: List[Tensor],
                   img_metas: Optional[List[dict]] = None, rescale: bool = False,
                   with_nms: bool = True) -> List[Detections]:
        """Per image ``Detections(det_bboxes (n, 5), det_labels (n,))`` of the last level:
        the paired corners scoring above -0.1 (unpaired ones score -1), with class-aware NMS
        (``test_cfg.nms``) and ``max_per_img`` when ``with_nms``."""
        if img_metas is None or not tl_heats[-1].shape[0] == br_heats[-1].shape[0] == \
                len(img_metas):
            raise ValueError('CornerHead.get_bboxes needs one img_meta (pad_shape, '
                             'scale_factor) per image of the batch')
        return [self._get_bboxes_single(
            tl_heats[-1][i:i + 1], br_heats[-1][i:i + 1], tl_offs[-1][i:i + 1],
            br_offs[-1][i:i + 1], img_meta,
            tl_emb=None if tl_embs[-1] is None else tl_embs[-1][i:i + 1],
            br_emb=None if br_embs[-1] is None else br_embs[-1][i:i + 1],
            rescale=rescale, with_nms=with_nms) for i, img_meta in enumerate(img_metas)]

    def _get_bboxes_single(self, tl_heat: Tensor, br_heat: Tensor, tl_off: Tensor,
                           br_off: Tensor, img_meta: dict, tl_emb: Optional[Tensor] = None,
                           br_emb: Optional[Tensor] = None,
                           tl_centripetal_shift: Optional[Tensor] = None,
                           br_centripetal_shift: Optional[Tensor] = None,
                           rescale: bool = False, with_nms: bool = True) -> Detections:
        """Of one image: heat-map logits (1, C, H, W), offsets (1, 2, H, W), embeddings
        (1, E, H, W) or CentripetalNet's centripetal shifts (1, 2, H, W)."""
        if isinstance(img_meta, (list, tuple)):
            img_meta = img_meta[0]
        cfg = self.resolve_test_cfg(None)
        batch_bboxes, batch_scores, batch_clses = self.decode_heatmap(
            tl_heat=tl_heat.sigmoid(), br_heat=br_heat.sigmoid(), tl_off=tl_off,
            br_off=br_off, tl_emb=tl_emb, br_emb=br_emb,
            tl_centripetal_shift=tl_centripetal_shift,
            br_centripetal_shift=br_centripetal_shift, img_meta=img_meta,
            k=cfg.corner_topk, kernel=cfg.local_maximum_kernel,
            distance_threshold=cfg.distance_threshold)
        if rescale:
            batch_bboxes = batch_bboxes / scale_factor_tensor(img_meta['scale_factor'],
                                                              batch_bboxes)
        detections = torch.cat([batch_bboxes.view([-1, 4]),
                                batch_scores.view(-1).unsqueeze(-1)], -1)
        clses = batch_clses.view(-1)
        keepinds = detections[:, -1] > -0.1
        detections, labels = detections[keepinds], clses[keepinds]
        if with_nms:
            detections, labels = self._bboxes_nms(detections, labels, cfg)
        return Detections(detections, labels)

    def _bboxes_nms(self, bboxes: Tensor, labels: Tensor,
                    cfg: ConfigDict) -> Tuple[Tensor, Tensor]:
        """Class-aware NMS of (n, 5) boxes (``cfg.nms``, or the deprecated ``cfg.nms_cfg``),
        the best ``cfg.max_per_img`` kept."""
        if 'nms_cfg' in cfg:
            warnings.warn('nms_cfg in test_cfg will be deprecated. Please rename it as nms')
        nms_cfg = cfg.nms if 'nms' in cfg else cfg.nms_cfg
        if labels.numel() > 0:
            bboxes, keep = batched_nms(bboxes[:, :4], bboxes[:, -1].contiguous(), labels,
                                       nms_cfg)
            # 2.x left the labels unfiltered when max_per_img <= 0
            labels = labels[keep]
            if cfg.max_per_img > 0:
                bboxes, labels = bboxes[:cfg.max_per_img], labels[:cfg.max_per_img]
        return bboxes, labels

    def decode_heatmap(self, tl_heat: Tensor, br_heat: Tensor, tl_off: Tensor, br_off: Tensor,
                       tl_emb: Optional[Tensor] = None, br_emb: Optional[Tensor] = None,
                       tl_centripetal_shift: Optional[Tensor] = None,
                       br_centripetal_shift: Optional[Tensor] = None,
                       img_meta: Optional[dict] = None, k: int = 100, kernel: int = 3,
                       distance_threshold: float = 0.5,
                       num_dets: int = 1000) -> Tuple[Tensor, Tensor, Tensor]:
        """Pair the k best top-left and bottom-right corners (heat maps after the sigmoid,
        (B, C, H, W)) into k x k candidate boxes in the ``pad_shape`` input frame, shifted
        back by ``img_meta['border']``'s left/top when present. A pair of different classes
        or non-positive size scores -1, and so does one whose corners do not match: by
        embedding distance above ``distance_threshold`` (CornerNet), or (CentripetalNet) by
        centres, the corners moved by their centripetal shifts, falling outside the box's
        central region.

        Returns the best ``num_dets`` boxes (B, num_dets, 4), scores (B, num_dets, 1) (the
        two corners' mean) and classes (B, num_dets, 1).
        """
        with_embedding = tl_emb is not None and br_emb is not None
        with_centripetal_shift = (tl_centripetal_shift is not None
                                  and br_centripetal_shift is not None)
        if with_embedding == with_centripetal_shift:
            raise ValueError('CornerHead.decode_heatmap pairs corners by embeddings or by '
                             'centripetal shifts: give exactly one of the two')
        batch, num_classes, height, width = tl_heat.size()
        if k > num_classes * height * width or k * k < num_dets:
            raise ValueError(f'CornerHead: corner_topk={k} must be at most the heat map size '
                             f'{num_classes} x {height} x {width} and give k * k >= {num_dets} '
                             'corner pairs; change test_cfg.corner_topk')
        inp_h, inp_w = img_meta['pad_shape'][:2]
        tl_heat = get_local_maximum(tl_heat, kernel=kernel)
        br_heat = get_local_maximum(br_heat, kernel=kernel)
        tl_scores, tl_inds, tl_clses, tl_ys, tl_xs = get_topk_from_heatmap(tl_heat, k=k)
        br_scores, br_inds, br_clses, br_ys, br_xs = get_topk_from_heatmap(br_heat, k=k)
        # k x k pairs: top-left corners along dim 1, bottom-right along dim 2
        tl_ys = tl_ys.view(batch, k, 1).repeat(1, 1, k)
        tl_xs = tl_xs.view(batch, k, 1).repeat(1, 1, k)
        br_ys = br_ys.view(batch, 1, k).repeat(1, k, 1)
        br_xs = br_xs.view(batch, 1, k).repeat(1, k, 1)
        tl_off = transpose_and_gather_feat(tl_off, tl_inds).view(batch, k, 1, 2)
        br_off = transpose_and_gather_feat(br_off, br_inds).view(batch, 1, k, 2)
        tl_xs = tl_xs + tl_off[..., 0]
        tl_ys = tl_ys + tl_off[..., 1]
        br_xs = br_xs + br_off[..., 0]
        br_ys = br_ys + br_off[..., 1]
        x_scale, y_scale = inp_w / width, inp_h / height
        x_off, y_off = 0, 0
        if 'border' in img_meta:
            # border = (top, bottom, left, right) of a test-time RandomCenterCropPad
            x_off, y_off = img_meta['border'][2], img_meta['border'][0]
        if with_centripetal_shift:
            tl_shift = transpose_and_gather_feat(tl_centripetal_shift, tl_inds).view(
                batch, k, 1, 2).exp()
            br_shift = transpose_and_gather_feat(br_centripetal_shift, br_inds).view(
                batch, 1, k, 2).exp()
            ct_bboxes = torch.stack(((tl_xs + tl_shift[..., 0]) * x_scale - x_off,
                                     (tl_ys + tl_shift[..., 1]) * y_scale - y_off,
                                     (br_xs - br_shift[..., 0]) * x_scale - x_off,
                                     (br_ys - br_shift[..., 1]) * y_scale - y_off), dim=3)
            ct_bboxes = ct_bboxes * ct_bboxes.gt(0.0).type_as(ct_bboxes)
        tl_xs = tl_xs * x_scale - x_off
        tl_ys = tl_ys * y_scale - y_off
        br_xs = br_xs * x_scale - x_off
        br_ys = br_ys * y_scale - y_off
        zeros = tl_xs.new_zeros(*tl_xs.size())
        tl_xs = torch.where(tl_xs > 0.0, tl_xs, zeros)
        tl_ys = torch.where(tl_ys > 0.0, tl_ys, zeros)
        br_xs = torch.where(br_xs > 0.0, br_xs, zeros)
        br_ys = torch.where(br_ys > 0.0, br_ys, zeros)
        bboxes = torch.stack((tl_xs, tl_ys, br_xs, br_ys), dim=3)
        if with_centripetal_shift:
            # the central region: the box scaled by mu about its centre (larger mu for
            # small boxes); both shifted corners must fall strictly inside it
            area_bboxes = ((br_xs - tl_xs) * (br_ys - tl_ys)).abs()
            mu = torch.ones_like(area_bboxes) / 2.4
            mu[area_bboxes > 3500] = 1 / 2.1
            center_x = (bboxes[..., 0] + bboxes[..., 2]) / 2
            center_y = (bboxes[..., 1] + bboxes[..., 3]) / 2
            half_w = mu * (bboxes[..., 2] - bboxes[..., 0]) / 2
            half_h = mu * (bboxes[..., 3] - bboxes[..., 1]) / 2
            rcentral = torch.stack((center_x - half_w, center_y - half_h, center_x + half_w,
                                    center_y + half_h), dim=3)
            area_ct = ((ct_bboxes[..., 2] - ct_bboxes[..., 0])
                       * (ct_bboxes[..., 3] - ct_bboxes[..., 1])).abs()
            area_rcentral = ((rcentral[..., 2] - rcentral[..., 0])
                             * (rcentral[..., 3] - rcentral[..., 1])).abs()
            dists = area_ct / area_rcentral
            outside = ((ct_bboxes[..., 0] <= rcentral[..., 0])
                       | (ct_bboxes[..., 0] >= rcentral[..., 2])
                       | (ct_bboxes[..., 1] <= rcentral[..., 1])
                       | (ct_bboxes[..., 1] >= rcentral[..., 3])
                       | (ct_bboxes[..., 2] <= rcentral[..., 0])
                       | (ct_bboxes[..., 2] >= rcentral[..., 2])
                       | (ct_bboxes[..., 3] <= rcentral[..., 1])
                       | (ct_bboxes[..., 3] >= rcentral[..., 3]))
        else:
            tl_emb = transpose_and_gather_feat(tl_emb, tl_inds).view(batch, k, 1)
            br_emb = transpose_and_gather_feat(br_emb, br_inds).view(batch, 1, k)
            dists = torch.abs(tl_emb - br_emb)
        scores = (tl_scores.view(batch, k, 1).repeat(1, 1, k)
                  + br_scores.view(batch, 1, k).repeat(1, k, 1)) / 2
        tl_clses = tl_clses.view(batch, k, 1).repeat(1, 1, k)
        br_clses = br_clses.view(batch, 1, k).repeat(1, k, 1)
        invalid = ((tl_clses != br_clses) | (dists > distance_threshold) | (br_xs <= tl_xs)
                   | (br_ys <= tl_ys))
        if with_centripetal_shift:
            invalid = invalid | outside
        scores = torch.where(invalid, -torch.ones_like(scores), scores)
        scores, inds = torch.topk(scores.view(batch, -1), num_dets)
        bboxes = gather_feat(bboxes.view(batch, -1, 4), inds)
        clses = gather_feat(tl_clses.contiguous().view(batch, -1, 1), inds).float()
        return bboxes, scores.unsqueeze(2), clses
