"""AnchorFreeHead: the point-based dense head FCOS, FoveaBox, RepPoints, ... build on (mmdet 2.x).

Shape shorthand:
    N: images in the batch            L: FPN levels
    C: classification outputs per point (``cls_out_channels``: num_classes with a sigmoid
       classifier, num_classes + 1 with softmax)
    H_l, W_l: size of level l         P_l = H_l * W_l points of level l; P = sum_l P_l
    k: ground-truth boxes of one image

Each location of each level is one prior: a point ``(x, y)`` of ``MlvlPointGenerator``
(``prior_generator``; ``num_base_priors`` = 1). The head predicts, per point, class scores and the
distances (left, top, right, bottom) in pixels from the point to the box sides, decoded by
``DistancePointBBoxCoder``.

Extension point (docs/conventions.md §4): a subclass that overrides only ``_init_layers`` and
``forward_single`` (and optionally ``init_weights``) trains and tests unchanged. Its
``forward_single(x)`` returns ``(cls_score (N, C, H, W), bbox_pred (N, 4, H, W))`` with
non-negative distances in pixels (FCOS takes ``exp`` of the regression conv). The default
``loss`` is FCOS's without centerness: each point is assigned the smallest ground-truth box that
contains it and whose largest side distance lies in the level's ``regress_ranges``; focal loss
for the classes, ``loss_bbox`` (IoU loss) between decoded predicted and target boxes.
(mmdetection 2.x left ``loss`` and ``get_targets`` abstract; 2.x subclasses override both, so the
default changes nothing for them.)
"""
import copy
import warnings
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor, nn

from ...core import MlvlPointGenerator, build_bbox_coder, multi_apply, reduce_mean
from ...core.utils.config import as_config
from ..builder import HEADS, build_loss
from ..utils.conv_module import ConvModule
from ..utils.gt_check import check_gt_bboxes
from ..utils.results import Detections, PointTargets
from .base_dense_head import BaseDenseHead

INF = 1e8


def default_regress_ranges(strides: Sequence) -> Tuple[Tuple[float, float], ...]:
    """Per level ``(low, high)`` of the largest point-to-side distance a level regresses:
    8 strides wide, contiguous, open at both ends (FCOS's ranges for strides 8..128)."""
    strides = [s[0] if isinstance(s, (tuple, list)) else s for s in strides]
    bounds = [-1] + [8 * s for s in strides[:-1]] + [INF]
    return tuple((bounds[i], bounds[i + 1]) for i in range(len(strides)))


@HEADS.register_module()
class AnchorFreeHead(BaseDenseHead):
    """Point-based head: ``stacked_convs`` 3x3 ConvModules per branch (``cls_convs``,
    ``reg_convs``), then 3x3 predictors ``conv_cls`` (C) and ``conv_reg`` (4).

    Args:
        num_classes: foreground classes (background excluded).
        in_channels: channels of the input feature maps.
        feat_channels: hidden channels of the towers.
        stacked_convs: convs per tower.
        strides: stride of each level (one point per location).
        dcn_on_last_conv: the last conv of each tower is a modulated deformable conv ('DCNv2').
        conv_bias: bias of the tower convs; ``'auto'``: only without a norm layer.
        loss_cls / loss_bbox: loss configs (focal loss, IoU loss on decoded boxes).
        bbox_coder: box coder config (``DistancePointBBoxCoder``).
        conv_cfg / norm_cfg: tower conv and norm configs.
        train_cfg / test_cfg: training and test configs (``nms_pre``, ``score_thr``, ``nms``,
            ``max_per_img``).
        init_cfg: weight init (2.x: Normal(std=0.01) on convs, ``conv_cls`` bias for p=0.01).
    """

    _version = 1

    def __init__(self, num_classes: int, in_channels: int, feat_channels: int = 256,
                 stacked_convs: int = 4, strides: Sequence = (4, 8, 16, 32, 64),
                 dcn_on_last_conv: bool = False, conv_bias: Union[bool, str] = 'auto',
                 loss_cls: Optional[dict] = None, loss_bbox: Optional[dict] = None,
                 bbox_coder: Optional[dict] = None, conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = None, train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None):
        if init_cfg is None:
            init_cfg = dict(type='Normal', layer='Conv2d', std=0.01,
                            override=dict(type='Normal', name='conv_cls', std=0.01,
                                          bias_prob=0.01))
        super().__init__(init_cfg=init_cfg)
        if loss_cls is None:
            loss_cls = dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25,
                            loss_weight=1.0)
        if loss_bbox is None:
            loss_bbox = dict(type='IoULoss', loss_weight=1.0)
        if bbox_coder is None:
            bbox_coder = dict(type='DistancePointBBoxCoder')
        if not (conv_bias == 'auto' or isinstance(conv_bias, bool)):
            raise ValueError(f"conv_bias must be 'auto' or a bool, got {conv_bias!r}")
        self.num_classes = num_classes
        self.use_sigmoid_cls = loss_cls.get('use_sigmoid', False)
        self.cls_out_channels = num_classes if self.use_sigmoid_cls else num_classes + 1
        if self.cls_out_channels <= 0:
            raise ValueError(f'num_classes={num_classes} is too small: the head needs at least '
                             'one foreground class')
        self.in_channels = in_channels
        self.feat_channels = feat_channels
        self.stacked_convs = stacked_convs
        self.strides = strides
        self.dcn_on_last_conv = dcn_on_last_conv
        self.conv_bias = conv_bias
        self.loss_cls = build_loss(copy.deepcopy(loss_cls))
        self.loss_bbox = build_loss(copy.deepcopy(loss_bbox))
        self.bbox_coder = build_bbox_coder(copy.deepcopy(bbox_coder))
        self.prior_generator = MlvlPointGenerator(strides)
        # A point is one prior per location, as an anchor head's single anchor.
        self.num_base_priors = self.prior_generator.num_base_priors[0]
        self.train_cfg = as_config(train_cfg)
        self.test_cfg = as_config(test_cfg)
        self.conv_cfg = conv_cfg
        self.norm_cfg = norm_cfg
        self.fp16_enabled = False
        if getattr(self, 'regress_ranges', None) is None:
            self.regress_ranges = default_regress_ranges(strides)
        self._init_layers()

    # FCOS's target options: FCOSHead sets them from its arguments; a plain AnchorFreeHead
    # subclass gets these, and regress ranges from its strides (set in __init__).
    center_sampling = False
    center_sample_radius = 1.5
    norm_on_bbox = False

    def _init_layers(self) -> None:
        self._init_cls_convs()
        self._init_reg_convs()
        self._init_predictor()

    def _tower(self) -> nn.ModuleList:
        convs = nn.ModuleList()
        for i in range(self.stacked_convs):
            chn = self.in_channels if i == 0 else self.feat_channels
            if self.dcn_on_last_conv and i == self.stacked_convs - 1:
                conv_cfg = dict(type='DCNv2')
            else:
                conv_cfg = self.conv_cfg
            convs.append(ConvModule(chn, self.feat_channels, 3, stride=1, padding=1,
                                    conv_cfg=conv_cfg, norm_cfg=self.norm_cfg,
                                    bias=self.conv_bias))
        return convs

    def _init_cls_convs(self) -> None:
        self.cls_convs = self._tower()

    def _init_reg_convs(self) -> None:
        self.reg_convs = self._tower()

    def _init_predictor(self) -> None:
        self.conv_cls = nn.Conv2d(self.feat_channels, self.cls_out_channels, 3, padding=1)
        self.conv_reg = nn.Conv2d(self.feat_channels, 4, 3, padding=1)

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        """Checkpoints without a version (mmdetection before 2.0's rename) call the predictors
        ``<name>_cls`` / ``<name>_reg`` / ``<name>_centerness`` (``fcos_cls``, ...); rename them to
        ``conv_cls`` / ``conv_reg`` / ``conv_centerness`` in place."""
        if local_metadata.get('version', None) is None:
            for key in [k for k in state_dict if k.startswith(prefix)]:
                parts = key[len(prefix):].split('.')
                if len(parts) < 2 or parts[0].startswith('conv_'):
                    continue
                for suffix in ('cls', 'reg', 'centerness'):
                    if parts[0].endswith(suffix) and parts[0] != suffix:
                        new = prefix + '.'.join([f'conv_{suffix}'] + parts[1:])
                        state_dict[new] = state_dict.pop(key)
                        break
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys,
                                      unexpected_keys, error_msgs)

    def forward(self, feats: Sequence[Tensor]) -> Tuple[List[Tensor], List[Tensor]]:
        """L feature maps → (cls_scores, bbox_preds), each a list over levels (the tower
        features ``forward_single`` also returns are dropped)."""
        return multi_apply(self.forward_single, feats)[:2]

    def forward_single(self, x: Tensor) -> Tuple[Tensor, ...]:
        """Of one level: (N, C_in, H, W) → cls_score (N, C, H, W), bbox_pred (N, 4, H, W), and the
        tower outputs cls_feat, reg_feat (N, F, H, W) that subclasses (FCOS) build on."""
        cls_feat = x
        reg_feat = x
        for cls_layer in self.cls_convs:
            cls_feat = cls_layer(cls_feat)
        cls_score = self.conv_cls(cls_feat)
        for reg_layer in self.reg_convs:
            reg_feat = reg_layer(reg_feat)
        bbox_pred = self.conv_reg(reg_feat)
        return cls_score, bbox_pred, cls_feat, reg_feat

    def get_points(self, featmap_sizes: List[Tuple[int, int]], dtype: torch.dtype,
                   device: Union[str, torch.device], flatten: bool = False) -> List[Tensor]:
        """Deprecated 2.x helper: the points (P_l, 2) of each level
        (``prior_generator.grid_priors``)."""
        warnings.warn('`get_points` in `AnchorFreeHead` is deprecated; use '
                      '`self.prior_generator.grid_priors`')
        return self.prior_generator.grid_priors(featmap_sizes, dtype=dtype, device=device)

    def loss(self, cls_scores: List[Tensor], bbox_preds: List[Tensor], gt_bboxes: List[Tensor],
             gt_labels: List[Tensor], img_metas: List[dict],
             gt_bboxes_ignore: Optional[List[Tensor]] = None) -> Dict[str, Tensor]:
        """``loss_cls`` (averaged over the positives) and ``loss_bbox`` (IoU of decoded boxes)
        of L levels of cls_scores (N, C, H_l, W_l) and bbox_preds (N, 4, H_l, W_l)."""
        if len(cls_scores) != len(bbox_preds):
            raise ValueError(f'{len(cls_scores)} levels of cls_scores but {len(bbox_preds)} of '
                             'bbox_preds')
        check_gt_bboxes(gt_bboxes, img_metas, gt_labels, self.num_classes)
        points = self.prior_generator.grid_priors(
            [s.shape[-2:] for s in cls_scores], dtype=bbox_preds[0].dtype,
            device=bbox_preds[0].device)
        labels, bbox_targets = self.get_targets(points, gt_bboxes, gt_labels)
        num_imgs = cls_scores[0].size(0)
        flat_cls = torch.cat([s.permute(0, 2, 3, 1).reshape(-1, self.cls_out_channels)
                              for s in cls_scores])
        flat_bbox = torch.cat([b.permute(0, 2, 3, 1).reshape(-1, 4) for b in bbox_preds])
        flat_labels = torch.cat(labels)
        flat_targets = torch.cat(bbox_targets)
        flat_points = torch.cat([p.repeat(num_imgs, 1) for p in points])
        pos_inds = ((flat_labels >= 0) & (flat_labels < self.num_classes)).nonzero().reshape(-1)
        num_pos = max(reduce_mean(flat_bbox.new_tensor(float(len(pos_inds)))), 1.0)
        loss_cls = self.loss_cls(flat_cls, flat_labels, avg_factor=num_pos)
        pos_bbox = flat_bbox[pos_inds]
        if len(pos_inds) > 0:
            pos_points = flat_points[pos_inds]
            loss_bbox = self.loss_bbox(
                self.bbox_coder.decode(pos_points, pos_bbox),
                self.bbox_coder.decode(pos_points, flat_targets[pos_inds]), avg_factor=num_pos)
        else:
            # Keeps the regression branch in the graph (DDP) with a zero loss.
            loss_bbox = pos_bbox.sum()
        return dict(loss_cls=loss_cls, loss_bbox=loss_bbox)

    def get_targets(self, points: List[Tensor], gt_bboxes_list: List[Tensor],
                    gt_labels_list: List[Tensor]) -> PointTargets:
        """FCOS's targets of the L levels' points (P_l, 2) for N images (k_i boxes each).

        Returns:
            ``PointTargets(labels_list, bbox_targets_list)``: per level, the N images' labels
            (N * P_l,) and distance targets (N * P_l, 4), divided by the level's stride when
            ``norm_on_bbox``.
        """
        ranges = self.regress_ranges
        if len(points) != len(ranges):
            raise ValueError(f'{len(points)} feature levels but {len(ranges)} regress_ranges; '
                             'give one (low, high) per level (and one stride per level)')
        num_levels = len(points)
        concat_ranges = torch.cat([points[i].new_tensor(ranges[i])[None].expand_as(points[i])
                                   for i in range(num_levels)])
        concat_points = torch.cat(points)
        num_points = [p.size(0) for p in points]
        labels_list, bbox_targets_list = multi_apply(
            self._get_target_single, gt_bboxes_list, gt_labels_list, points=concat_points,
            regress_ranges=concat_ranges, num_points_per_lvl=num_points)
        labels_list = [labels.split(num_points, 0) for labels in labels_list]
        bbox_targets_list = [targets.split(num_points, 0) for targets in bbox_targets_list]
        lvl_labels, lvl_targets = [], []
        for i in range(num_levels):
            lvl_labels.append(torch.cat([labels[i] for labels in labels_list]))
            targets = torch.cat([targets[i] for targets in bbox_targets_list])
            if self.norm_on_bbox:
                targets = targets / self._stride_of(i)
            lvl_targets.append(targets)
        return PointTargets(lvl_labels, lvl_targets)

    def _stride_of(self, level: int) -> float:
        stride = self.strides[level]
        return stride[0] if isinstance(stride, (tuple, list)) else stride

    def _get_target_single(self, gt_bboxes: Tensor, gt_labels: Tensor, points: Tensor,
                           regress_ranges: Tensor,
                           num_points_per_lvl: List[int]) -> Tuple[Tensor, Tensor]:
        """Of one image: labels (P,) and distance targets (P, 4) of the P points (P, 2).

        A point is positive for the smallest-area box (k boxes (k, 4)) that contains it (with
        ``center_sampling``: lies within ``center_sample_radius`` strides of its centre, inside
        the box) and whose largest point-to-side distance is within the point's
        ``regress_ranges`` row (P, 2); other points get ``num_classes``.
        """
        num_points = points.size(0)
        num_gts = gt_labels.size(0)
        if num_gts == 0:
            return (gt_labels.new_full((num_points,), self.num_classes),
                    gt_bboxes.new_zeros((num_points, 4)))
        areas = (gt_bboxes[:, 2] - gt_bboxes[:, 0]) * (gt_bboxes[:, 3] - gt_bboxes[:, 1])
        areas = areas[None].repeat(num_points, 1)
        regress_ranges = regress_ranges[:, None, :].expand(num_points, num_gts, 2)
        gt_bboxes = gt_bboxes[None].expand(num_points, num_gts, 4)
        xs = points[:, 0, None].expand(num_points, num_gts)
        ys = points[:, 1, None].expand(num_points, num_gts)
        bbox_targets = torch.stack((xs - gt_bboxes[..., 0], ys - gt_bboxes[..., 1],
                                    gt_bboxes[..., 2] - xs, gt_bboxes[..., 3] - ys), -1)
        if self.center_sampling:
            stride = xs.new_zeros(xs.shape)
            begin = 0
            for level, num in enumerate(num_points_per_lvl):
                stride[begin:begin + num] = self._stride_of(level) * self.center_sample_radius
                begin += num
            cx = (gt_bboxes[..., 0] + gt_bboxes[..., 2]) / 2
            cy = (gt_bboxes[..., 1] + gt_bboxes[..., 3]) / 2
            # The centre region, clipped to the box.
            x1 = torch.maximum(cx - stride, gt_bboxes[..., 0])
            y1 = torch.maximum(cy - stride, gt_bboxes[..., 1])
            x2 = torch.minimum(cx + stride, gt_bboxes[..., 2])
            y2 = torch.minimum(cy + stride, gt_bboxes[..., 3])
            center_dists = torch.stack((xs - x1, ys - y1, x2 - xs, y2 - ys), -1)
            inside_gt = center_dists.min(-1)[0] > 0
        else:
            inside_gt = bbox_targets.min(-1)[0] > 0
        max_dist = bbox_targets.max(-1)[0]
        inside_range = (max_dist >= regress_ranges[..., 0]) & (max_dist <= regress_ranges[..., 1])
        areas[~inside_gt] = INF
        areas[~inside_range] = INF
        min_area, min_area_inds = areas.min(dim=1)
        labels = gt_labels[min_area_inds]
        labels[min_area == INF] = self.num_classes
        bbox_targets = bbox_targets[range(num_points), min_area_inds]
        return labels, bbox_targets

    def aug_test(self, feats: List[Sequence[Tensor]], img_metas: List[List[dict]],
                 rescale: bool = False) -> List[Detections]:
        """Flip/scale TTA: see ``BBoxTestMixin.aug_test_bboxes``."""
        return self.aug_test_bboxes(feats, img_metas, rescale=rescale)
