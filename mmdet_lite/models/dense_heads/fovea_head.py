"""FoveaHead: FoveaBox (Kong et al., "FoveaBox: Beyond Anchor-based Object Detector", 2019).

Each level handles the boxes whose sqrt(area) falls in its ``scale_ranges`` row; the positives
are the locations in the box's shrunk centre ("fovea", ``sigma``); a location regresses
log(side distance / ``base_edge``) of its level.

Shape shorthand:
    N: images in the batch     L: FPN levels     C: classes (sigmoid)
    H_l, W_l: size of level l  P_l = H_l * W_l locations of level l
"""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from mmengine.model import BaseModule
from torch import Tensor, nn

from ...core import filter_scores_and_topk, multi_apply
from ..builder import HEADS
from ..layers.deform_conv import DeformConv2d
from ..utils.conv_module import ConvModule
from ..utils.gt_check import check_gt_bboxes
from .anchor_free_head import AnchorFreeHead


class FeatureAlign(BaseModule):
    """Features aligned to the predicted box: a deformable conv (``conv_adaption``) whose
    offsets come from the box's side distances by a 1x1 conv (``conv_offset``).

    (N, C_in, H, W) features and (N, 4, H, W) distances → (N, C_out, H, W).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3,
                 deform_groups: int = 4,
                 init_cfg: Optional[Union[dict, List[dict]]] = dict(
                     type='Normal', layer='Conv2d', std=0.1,
                     override=dict(type='Normal', name='conv_adaption', std=0.01))):
        super().__init__(init_cfg)
        offset_channels = kernel_size * kernel_size * 2
        self.conv_offset = nn.Conv2d(4, deform_groups * offset_channels, 1, bias=False)
        self.conv_adaption = DeformConv2d(in_channels, out_channels, kernel_size=kernel_size,
                                          padding=(kernel_size - 1) // 2,
                                          deform_groups=deform_groups)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: Tensor, shape: Tensor) -> Tensor:
        return self.relu(self.conv_adaption(x, self.conv_offset(shape)))


@HEADS.register_module()
class FoveaHead(AnchorFreeHead):
    """``AnchorFreeHead``'s regression tower and ``conv_reg``; the classification tower is
    ``AnchorFreeHead``'s, or with ``with_deform`` a ``FeatureAlign`` (``feature_adaption``)
    followed by a 3x3 and a 1x1 ConvModule at 4x width and ``conv_cls``.

    Args:
        base_edge_list: per level the edge that the log-distances are relative to.
        scale_ranges: per level the (low, high) sqrt(area) of its boxes (they overlap).
        sigma: the fovea is the centre ``sigma`` of the box (in each direction).
        with_deform: align the classification features to the predicted box.
        deform_groups: offset groups of the alignment.
        Other arguments: :class:`AnchorFreeHead`.

    Outputs per level: cls_score (N, C, H, W), bbox_pred (N, 4, H, W) log-distances.
    """

    def __init__(self, num_classes: int, in_channels: int,
                 base_edge_list: Sequence[int] = (16, 32, 64, 128, 256),
                 scale_ranges: Sequence[Tuple[int, int]] = (
                     (8, 32), (16, 64), (32, 128), (64, 256), (128, 512)),
                 sigma: float = 0.4, with_deform: bool = False, deform_groups: int = 4,
                 init_cfg: Optional[Union[dict, List[dict]]] = None, **kwargs):
        self.base_edge_list = base_edge_list
        self.scale_ranges = scale_ranges
        self.sigma = sigma
        self.with_deform = with_deform
        self.deform_groups = deform_groups
        super().__init__(num_classes, in_channels, init_cfg=init_cfg, **kwargs)

    def _init_layers(self) -> None:
        self._init_reg_convs()
        self.conv_reg = nn.Conv2d(self.feat_channels, 4, 3, padding=1)
        if not self.with_deform:
            self._init_cls_convs()
            self.conv_cls = nn.Conv2d(self.feat_channels, self.cls_out_channels, 3, padding=1)
            return
        wide = self.feat_channels * 4
        self.cls_convs = nn.ModuleList([
            ConvModule(self.feat_channels, wide, 3, stride=1, padding=1,
                       conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg,
                       bias=self.norm_cfg is None),
            ConvModule(wide, wide, 1, stride=1, padding=0, conv_cfg=self.conv_cfg,
                       norm_cfg=self.norm_cfg, bias=self.norm_cfg is None)])
        self.feature_adaption = FeatureAlign(self.feat_channels, self.feat_channels,
                                             kernel_size=3, deform_groups=self.deform_groups)
        self.conv_cls = nn.Conv2d(wide, self.cls_out_channels, 3, padding=1)

    def forward_single(self, x: Tensor) -> Tuple[Tensor, Tensor]:
        """Of one level: (N, C_in, H, W) → cls_score (N, C, H, W), bbox_pred (N, 4, H, W)."""
        reg_feat = x
        for reg_layer in self.reg_convs:
            reg_feat = reg_layer(reg_feat)
        bbox_pred = self.conv_reg(reg_feat)
        cls_feat = x
        if self.with_deform:
            cls_feat = self.feature_adaption(cls_feat, bbox_pred.exp())
        for cls_layer in self.cls_convs:
            cls_feat = cls_layer(cls_feat)
        return self.conv_cls(cls_feat), bbox_pred

    def loss(self, cls_scores: List[Tensor], bbox_preds: List[Tensor], gt_bbox_list: List[Tensor],
             gt_label_list: List[Tensor], img_metas: List[dict],
             gt_bboxes_ignore: Optional[List[Tensor]] = None) -> Dict[str, Tensor]:
        """``loss_cls`` (averaged over positives + images) and ``loss_bbox`` (log-distances,
        averaged over positives)."""
        if len(cls_scores) != len(bbox_preds):
            raise ValueError('cls_scores and bbox_preds need the same levels')
        check_gt_bboxes(gt_bbox_list, img_metas, gt_label_list, self.num_classes)
        featmap_sizes = [featmap.size()[-2:] for featmap in cls_scores]
        points = self.prior_generator.grid_priors(featmap_sizes, dtype=bbox_preds[0].dtype,
                                                  device=bbox_preds[0].device)
        num_imgs = cls_scores[0].size(0)
        flat_cls = torch.cat([s.permute(0, 2, 3, 1).reshape(-1, self.cls_out_channels)
                              for s in cls_scores])
        flat_bbox = torch.cat([b.permute(0, 2, 3, 1).reshape(-1, 4) for b in bbox_preds])
        flat_labels, flat_targets = self.get_targets(gt_bbox_list, gt_label_list,
                                                     featmap_sizes, points)
        pos_inds = ((flat_labels >= 0) & (flat_labels < self.num_classes)).nonzero().view(-1)
        num_pos = len(pos_inds)
        loss_cls = self.loss_cls(flat_cls, flat_labels, avg_factor=num_pos + num_imgs)
        if num_pos > 0:
            pos_targets = flat_targets[pos_inds]
            loss_bbox = self.loss_bbox(flat_bbox[pos_inds], pos_targets,
                                       torch.ones_like(pos_targets), avg_factor=num_pos)
        else:
            # Zero, but in the graph (2.x returns a constant, which breaks DDP's reducer).
            loss_bbox = flat_bbox.sum() * 0
        return dict(loss_cls=loss_cls, loss_bbox=loss_bbox)

    def get_targets(self, gt_bbox_list: List[Tensor], gt_label_list: List[Tensor],
                    featmap_sizes: List[Tuple[int, int]],
                    points: List[Tensor]) -> Tuple[Tensor, Tensor]:
        """Labels (sum_l N * P_l,) and log-distance targets (sum_l N * P_l, 4), level-major
        then image-major (the order of the flattened predictions)."""
        label_list, bbox_target_list = multi_apply(
            self._get_target_single, gt_bbox_list, gt_label_list,
            featmap_size_list=featmap_sizes, point_list=points)
        flat_labels = torch.cat([torch.cat([labels.flatten() for labels in level])
                                 for level in zip(*label_list)])
        flat_targets = torch.cat([torch.cat([targets.reshape(-1, 4) for targets in level])
                                  for level in zip(*bbox_target_list)])
        return flat_labels, flat_targets

    def _get_target_single(self, gt_bboxes_raw: Tensor, gt_labels_raw: Tensor,
                           featmap_size_list: List[Tuple[int, int]],
                           point_list: List[Tensor]) -> Tuple[List[Tensor], List[Tensor]]:
        """Of one image (k boxes): per level labels (H_l, W_l) and log-distance targets
        (H_l, W_l, 4). Larger boxes are written first, so a smaller one overwrites them."""
        gt_areas = torch.sqrt((gt_bboxes_raw[:, 2] - gt_bboxes_raw[:, 0])
                              * (gt_bboxes_raw[:, 3] - gt_bboxes_raw[:, 1]))
        label_list, bbox_target_list = [], []
        for base_len, (lower_bound, upper_bound), stride, featmap_size, points in zip(
                self.base_edge_list, self.scale_ranges, self.strides, featmap_size_list,
                point_list):
            points = points.view(*featmap_size, 2)
            x, y = points[..., 0], points[..., 1]
            labels = gt_labels_raw.new_full(tuple(featmap_size), self.num_classes)
            bbox_targets = gt_bboxes_raw.new_ones(featmap_size[0], featmap_size[1], 4)
            hit_indices = ((gt_areas >= lower_bound)
                           & (gt_areas <= upper_bound)).nonzero().flatten()
            if len(hit_indices) == 0:
                label_list.append(labels)
                bbox_target_list.append(torch.log(bbox_targets))
                continue
            _, hit_index_order = torch.sort(-gt_areas[hit_indices])
            hit_indices = hit_indices[hit_index_order]
            gt_bboxes = gt_bboxes_raw[hit_indices, :] / stride
            gt_labels = gt_labels_raw[hit_indices]
            half_w = 0.5 * (gt_bboxes[:, 2] - gt_bboxes[:, 0])
            half_h = 0.5 * (gt_bboxes[:, 3] - gt_bboxes[:, 1])
            # The fovea in cells: the centre sigma of the box, cell centres at (i + 0.5).
            pos_left = torch.ceil(gt_bboxes[:, 0] + (1 - self.sigma) * half_w - 0.5).long() \
                .clamp(0, featmap_size[1] - 1)
            pos_right = torch.floor(gt_bboxes[:, 0] + (1 + self.sigma) * half_w - 0.5).long() \
                .clamp(0, featmap_size[1] - 1)
            pos_top = torch.ceil(gt_bboxes[:, 1] + (1 - self.sigma) * half_h - 0.5).long() \
                .clamp(0, featmap_size[0] - 1)
            pos_down = torch.floor(gt_bboxes[:, 1] + (1 + self.sigma) * half_h - 0.5).long() \
                .clamp(0, featmap_size[0] - 1)
            for px1, py1, px2, py2, label, (gt_x1, gt_y1, gt_x2, gt_y2) in zip(
                    pos_left, pos_top, pos_right, pos_down, gt_labels,
                    gt_bboxes_raw[hit_indices, :]):
                rows, cols = slice(py1, py2 + 1), slice(px1, px2 + 1)
                labels[rows, cols] = label
                bbox_targets[rows, cols, 0] = (x[rows, cols] - gt_x1) / base_len
                bbox_targets[rows, cols, 1] = (y[rows, cols] - gt_y1) / base_len
                bbox_targets[rows, cols, 2] = (gt_x2 - x[rows, cols]) / base_len
                bbox_targets[rows, cols, 3] = (gt_y2 - y[rows, cols]) / base_len
            bbox_targets = bbox_targets.clamp(min=1. / 16, max=16.)
            label_list.append(labels)
            bbox_target_list.append(torch.log(bbox_targets))
        return label_list, bbox_target_list

    def _get_bboxes_single(self, cls_score_list: List[Tensor], bbox_pred_list: List[Tensor],
                           score_factor_list: List[Optional[Tensor]], mlvl_priors: List[Tensor],
                           img_meta: dict, cfg: Optional[dict], rescale: bool = False,
                           with_nms: bool = True, **kwargs):
        """Of one image: per level top ``nms_pre`` above ``score_thr``, log-distances decoded
        with the level's base edge."""
        cfg = self.resolve_test_cfg(cfg)
        img_shape = img_meta['img_shape']
        nms_pre = cfg.get('nms_pre', -1)
        mlvl_bboxes, mlvl_scores, mlvl_labels = [], [], []
        for cls_score, bbox_pred, base_len, priors in zip(
                cls_score_list, bbox_pred_list, self.base_edge_list, mlvl_priors):
            bbox_pred = bbox_pred.permute(1, 2, 0).reshape(-1, 4)
            scores = cls_score.permute(1, 2, 0).reshape(-1, self.cls_out_channels).sigmoid()
            scores, labels, _, filtered = filter_scores_and_topk(
                scores, cfg.score_thr, nms_pre if nms_pre > 0 else scores.numel(),
                dict(bbox_pred=bbox_pred, priors=priors))
            mlvl_bboxes.append(self._bbox_decode(filtered['priors'], filtered['bbox_pred'],
                                                 base_len, img_shape))
            mlvl_scores.append(scores)
            mlvl_labels.append(labels)
        return self._bbox_post_process(mlvl_scores, mlvl_labels, mlvl_bboxes,
                                       img_meta['scale_factor'], cfg, rescale, with_nms)

    def _bbox_decode(self, priors: Tensor, bbox_pred: Tensor, base_len: int,
                     max_shape: Sequence[int]) -> Tensor:
        """Boxes (n, 4) from log-distances (n, 4) around the points (n, 2), clipped to the
        last pixel of ``max_shape`` (h, w) as 2.x."""
        bbox_pred = bbox_pred.exp()
        x, y = priors[:, 0], priors[:, 1]
        x1 = (x - base_len * bbox_pred[:, 0]).clamp(min=0, max=max_shape[1] - 1)
        y1 = (y - base_len * bbox_pred[:, 1]).clamp(min=0, max=max_shape[0] - 1)
        x2 = (x + base_len * bbox_pred[:, 2]).clamp(min=0, max=max_shape[1] - 1)
        y2 = (y + base_len * bbox_pred[:, 3]).clamp(min=0, max=max_shape[0] - 1)
        return torch.stack([x1, y1, x2, y2], -1)
