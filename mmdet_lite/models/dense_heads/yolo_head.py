"""YOLOV3Head: YOLOv3's per-level prediction maps (Redmon & Farhadi, 2018), mmdet 2.x.

Shape shorthand:
    N: images in the batch         L: levels (coarsest first: strides 32, 16, 8)
    A: anchors per location (``num_base_priors``, 3)
    C: classes                     K = 5 + C attributes per anchor (``num_attrib``):
                                   (tx, ty, tw, th, objectness, C class logits)
    H_l, W_l: size of level l      P_l = H_l * W_l * A anchors of level l; P = sum_l P_l
    k: ground-truth boxes of one image

Unlike :class:`AnchorHead`, the head predicts one map per level (N, A * K, H_l, W_l) that holds
boxes, objectness and classes together; ``forward`` returns ``(pred_maps,)`` and
``get_bboxes`` / ``loss`` take ``pred_maps`` as their first argument, as in 2.x.
"""
import copy
import warnings
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.config import ConfigDict
from mmengine.model import bias_init_with_prob, constant_init, normal_init
from mmengine.utils.dl_utils import is_norm
from torch import Tensor, nn

from ...core import (build_assigner, build_bbox_coder, build_prior_generator, build_sampler,
                     images_to_levels, multi_apply)
from ...core.bbox.scale_factor import scale_factor_tensor
from ..builder import HEADS, build_loss
from ...core.utils.config import as_config
from ..utils.conv_module import ConvModule
from ..utils.gt_check import check_gt_bboxes
from ..utils.results import DenseCandidates, Detections
from .base_dense_head import BaseDenseHead


class YOLOTargets(NamedTuple):
    """Of a batch (``YOLOV3Head.get_targets``), regrouped per level.

    ``target_maps_list``: L tensors (N, P_l, K) holding the encoded box (4), objectness (1) and
    (smoothed) one-hot class targets of the positive anchors, zeros elsewhere;
    ``neg_maps_list``: L tensors (N, P_l) uint8, 1 for the negative anchors.
    """
    target_maps_list: List[Tensor]
    neg_maps_list: List[Tensor]


@HEADS.register_module()
class YOLOV3Head(BaseDenseHead):
    """Per level a 3x3 ``convs_bridge`` ConvModule, then a 1x1 ``convs_pred`` to A * K channels.

    Args:
        num_classes: foreground classes.
        in_channels: input channels per level (coarsest first).
        out_channels: channels of each level's bridge conv.
        anchor_generator: ``YOLOAnchorGenerator`` config (base sizes per level).
        bbox_coder: ``YOLOBBoxCoder`` config.
        featmap_strides: stride of each level, descending.
        one_hot_smoother: label smoothing of the class targets (0 disables it).
        conv_cfg / norm_cfg / act_cfg: of the bridge convs.
        loss_cls / loss_conf / loss_xy / loss_wh: class, objectness, centre-offset (sigmoid
            cross entropy) and log-size losses.
        train_cfg: ``assigner`` (``GridAssigner``), optional ``sampler``.
        test_cfg: ``score_thr``, ``conf_thr`` (objectness filter), ``nms``, ``max_per_img``.
        init_cfg: as 2.x, unused: :meth:`init_weights` sets every weight itself.
    """

    def __init__(self, num_classes: int, in_channels: Sequence[int],
                 out_channels: Sequence[int] = (1024, 512, 256),
                 anchor_generator: Optional[dict] = None,
                 bbox_coder: Optional[dict] = None,
                 featmap_strides: Sequence[int] = (32, 16, 8),
                 one_hot_smoother: float = 0.,
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = None,
                 act_cfg: Optional[dict] = None,
                 loss_cls: Optional[dict] = None,
                 loss_conf: Optional[dict] = None,
                 loss_xy: Optional[dict] = None,
                 loss_wh: Optional[dict] = None,
                 train_cfg: Optional[dict] = None, test_cfg: Optional[dict] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None):
        if init_cfg is None:
            init_cfg = dict(type='Normal', std=0.01, override=dict(name='convs_pred'))
        super().__init__(init_cfg=init_cfg)
        if anchor_generator is None:
            anchor_generator = dict(type='YOLOAnchorGenerator',
                                    base_sizes=[[(116, 90), (156, 198), (373, 326)],
                                                [(30, 61), (62, 45), (59, 119)],
                                                [(10, 13), (16, 30), (33, 23)]],
                                    strides=[32, 16, 8])
        if bbox_coder is None:
            bbox_coder = dict(type='YOLOBBoxCoder')
        if norm_cfg is None:
            norm_cfg = dict(type='BN', requires_grad=True)
        if act_cfg is None:
            act_cfg = dict(type='LeakyReLU', negative_slope=0.1)
        sigmoid_ce = dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0)
        loss_cls = sigmoid_ce if loss_cls is None else loss_cls
        loss_conf = sigmoid_ce if loss_conf is None else loss_conf
        loss_xy = sigmoid_ce if loss_xy is None else loss_xy
        if loss_wh is None:
            loss_wh = dict(type='MSELoss', loss_weight=1.0)
        if not len(in_channels) == len(out_channels) == len(featmap_strides):
            raise ValueError(f'YOLOV3Head: in_channels {list(in_channels)}, out_channels '
                             f'{list(out_channels)} and featmap_strides '
                             f'{list(featmap_strides)} must have one entry per level')
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.featmap_strides = featmap_strides
        self.train_cfg = as_config(train_cfg)
        self.test_cfg = as_config(test_cfg)
        if self.train_cfg:
            self.assigner = build_assigner(copy.deepcopy(self.train_cfg.assigner))
            sampler_cfg = self.train_cfg.get('sampler', dict(type='PseudoSampler'))
            self.sampler = build_sampler(copy.deepcopy(sampler_cfg), context=self)
        self.fp16_enabled = False
        self.one_hot_smoother = one_hot_smoother
        self.conv_cfg = conv_cfg
        self.norm_cfg = norm_cfg
        self.act_cfg = act_cfg
        # Objectness and classes are independent sigmoids (no background column).
        self.use_sigmoid_cls = True
        self.cls_out_channels = num_classes
        self.bbox_coder = build_bbox_coder(copy.deepcopy(bbox_coder))
        self.prior_generator = build_prior_generator(copy.deepcopy(anchor_generator))
        self.loss_cls = build_loss(copy.deepcopy(loss_cls))
        self.loss_conf = build_loss(copy.deepcopy(loss_conf))
        self.loss_xy = build_loss(copy.deepcopy(loss_xy))
        self.loss_wh = build_loss(copy.deepcopy(loss_wh))
        self.num_base_priors = self.prior_generator.num_base_priors[0]
        if len(self.prior_generator.num_base_priors) != len(featmap_strides):
            raise ValueError(f'YOLOV3Head: the anchor generator has '
                             f'{len(self.prior_generator.num_base_priors)} levels but '
                             f'featmap_strides {list(featmap_strides)} has '
                             f'{len(featmap_strides)}')
        self._init_layers()

    @property
    def anchor_generator(self):
        """Deprecated 2.x alias of ``prior_generator``; warns as 2.x did."""
        warnings.warn('DeprecationWarning: `anchor_generator` is deprecated, please use '
                      '"prior_generator" instead')
        return self.prior_generator

    @property
    def num_anchors(self) -> int:
        """Deprecated 2.x alias of ``num_base_priors`` (A); warns as 2.x did."""
        warnings.warn('DeprecationWarning: `num_anchors` is deprecated, please use '
                      '"num_base_priors" instead')
        return self.num_base_priors

    @property
    def num_levels(self) -> int:
        return len(self.featmap_strides)

    @property
    def num_attrib(self) -> int:
        """K = 4 box values + 1 objectness + C class logits per anchor."""
        return 5 + self.num_classes

    def _init_layers(self) -> None:
        self.convs_bridge = nn.ModuleList()
        self.convs_pred = nn.ModuleList()
        for in_chn, out_chn in zip(self.in_channels, self.out_channels):
            self.convs_bridge.append(ConvModule(in_chn, out_chn, 3, padding=1,
                                                conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg,
                                                act_cfg=self.act_cfg))
            self.convs_pred.append(nn.Conv2d(out_chn, self.num_base_priors * self.num_attrib, 1))

    def init_weights(self) -> None:
        """As 2.x (``init_cfg`` is not used): Normal(std=0.01) convs, norms at 1, and the
        prediction biases set to priors: objectness of 8 objects per 608-px image at each
        level, classes of probability 0.01 (as ultralytics/yolov3)."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                normal_init(m, mean=0, std=0.01)
            if is_norm(m):
                constant_init(m, 1)
        for conv_pred, stride in zip(self.convs_pred, self.featmap_strides):
            bias = conv_pred.bias.data.view(self.num_base_priors, -1)
            bias[:, 4] = bias_init_with_prob(8 / (608 / stride) ** 2)
            bias[:, 5:] = bias_init_with_prob(0.01)

    def forward_single(self, x: Tensor, conv_bridge: nn.Module,
                       conv_pred: nn.Module) -> Tuple[Tensor]:
        """Of one level: (N, C_in, H, W) → ``(pred_map,)``, (N, A * K, H, W)."""
        return (conv_pred(conv_bridge(x)),)

    def forward(self, feats: Sequence[Tensor]) -> Tuple[List[Tensor]]:
        """L feature maps (coarsest first) → ``(pred_maps,)``, a list over levels."""
        if len(feats) != self.num_levels:
            raise ValueError(f'YOLOV3Head has {self.num_levels} levels but got {len(feats)} '
                             'feature maps; check the neck\'s num_scales')
        return multi_apply(self.forward_single, feats, self.convs_bridge, self.convs_pred)

    def _flatten_decoded(self, pred_maps: Sequence[Tensor]) -> Tuple[Tensor, Tensor, Tensor]:
        """Boxes (N, P, 4) decoded from the anchors, objectness (N, P) and class scores
        (N, P, C), both after the sigmoid, of all levels."""
        num_imgs = pred_maps[0].size(0)
        featmap_sizes = [pred_map.shape[-2:] for pred_map in pred_maps]
        mlvl_anchors = self.prior_generator.grid_priors(featmap_sizes, device=pred_maps[0].device)
        flat_preds, flat_strides = [], []
        for pred, stride in zip(pred_maps, self.featmap_strides):
            pred = pred.permute(0, 2, 3, 1).reshape(num_imgs, -1, self.num_attrib)
            # Centre offsets inside their cell are sigmoid-ed before decoding.
            pred = torch.cat([pred[..., :2].sigmoid(), pred[..., 2:]], dim=-1)
            flat_preds.append(pred)
            flat_strides.append(pred.new_tensor(stride).expand(pred.size(1)))
        flat_preds = torch.cat(flat_preds, dim=1)
        flat_strides = torch.cat(flat_strides)
        bboxes = self.bbox_coder.decode(torch.cat(mlvl_anchors), flat_preds[..., :4],
                                        flat_strides.unsqueeze(-1))
        return bboxes, flat_preds[..., 4].sigmoid(), flat_preds[..., 5:].sigmoid()

    def get_bboxes(self, pred_maps: Sequence[Tensor], img_metas: Optional[List[dict]] = None,
                   cfg: Optional[dict] = None, rescale: bool = False,
                   with_nms: bool = True) -> List[Union[Detections, DenseCandidates]]:
        """Detections (or candidates) of each image.

        Anchors whose objectness is below ``cfg.conf_thr`` are dropped; every (anchor, class)
        pair whose class score is above ``cfg.score_thr`` is a candidate scored
        class score x objectness; class-aware NMS keeps ``max_per_img``.

        Args:
            pred_maps: L tensors (N, A * K, H_l, W_l).
            img_metas: N meta dicts (``scale_factor`` for ``rescale``).
            cfg: test config; default ``self.test_cfg``.
            rescale: map the boxes back to the original image size.
            with_nms: False returns the candidates before NMS.

        Returns:
            Per image ``Detections(det_bboxes (n, 5), det_labels (n,))`` with NMS, else
            ``DenseCandidates(bboxes (n, 4), scores (n,), labels (n,))``.
        """
        if len(pred_maps) != self.num_levels:
            raise ValueError(f'YOLOV3Head has {self.num_levels} levels but got '
                             f'{len(pred_maps)} prediction maps')
        if img_metas is None:
            raise ValueError('get_bboxes needs img_metas (scale_factor per image)')
        cfg = self.resolve_test_cfg(cfg)
        bboxes, objectness, cls_scores = self._flatten_decoded(pred_maps)
        results = []
        for img_bboxes, img_scores, img_obj, img_meta in zip(bboxes, cls_scores, objectness,
                                                             img_metas):
            if rescale:
                img_bboxes = img_bboxes / scale_factor_tensor(img_meta['scale_factor'],
                                                              img_bboxes)
            candidates = self._candidates_single(img_bboxes, img_scores, img_obj, cfg)
            results.append(self._nms_detections(candidates, cfg) if with_nms else candidates)
        return results

    def _candidates_single(self, bboxes: Tensor, cls_scores: Tensor, objectness: Tensor,
                           cfg: ConfigDict) -> DenseCandidates:
        """Of one image: boxes (P, 4), class scores (P, C), objectness (P,) → the
        (anchor, class) pairs above the thresholds, in anchor-major order (as 2.x's
        ``multiclass_nms`` orders them, so that NMS breaks ties alike)."""
        conf_thr = cfg.get('conf_thr', -1)
        if conf_thr > 0:
            keep = objectness >= conf_thr
            bboxes, cls_scores, objectness = bboxes[keep], cls_scores[keep], objectness[keep]
        valid = cls_scores > cfg.get('score_thr', 0.0)
        box_inds, labels = valid.nonzero(as_tuple=True)
        scores = cls_scores[box_inds, labels] * objectness[box_inds]
        return DenseCandidates(bboxes[box_inds], scores, labels)

    def loss(self, pred_maps: Sequence[Tensor], gt_bboxes: List[Tensor], gt_labels: List[Tensor],
             img_metas: List[dict], gt_bboxes_ignore: Optional[List[Tensor]] = None
             ) -> Dict[str, List[Tensor]]:
        """Per level ``loss_cls``, ``loss_conf``, ``loss_xy``, ``loss_wh``.

        ``pred_maps``: L tensors (N, A * K, H_l, W_l); ``gt_bboxes[i]`` (k, 4) and
        ``gt_labels[i]`` (k,) per image. ``gt_bboxes_ignore`` is not supported (as 2.x).
        """
        if gt_bboxes_ignore is not None and any(g is not None and len(g) for g in
                                                gt_bboxes_ignore):
            raise ValueError('YOLOV3Head does not use gt_bboxes_ignore (neither did 2.x); drop '
                             "'gt_bboxes_ignore' from the pipeline's Collect keys")
        check_gt_bboxes(gt_bboxes, img_metas, gt_labels, self.num_classes)
        device = pred_maps[0].device
        featmap_sizes = [pred_map.shape[-2:] for pred_map in pred_maps]
        mlvl_anchors = self.prior_generator.grid_priors(featmap_sizes, device=device)
        anchor_list = [mlvl_anchors for _ in img_metas]
        responsible_flag_list = [
            self.prior_generator.responsible_flags(featmap_sizes, gt, device)
            for gt in gt_bboxes
        ]
        targets = self.get_targets(anchor_list, responsible_flag_list, gt_bboxes, gt_labels)
        losses_cls, losses_conf, losses_xy, losses_wh = multi_apply(
            self.loss_single, pred_maps, targets.target_maps_list, targets.neg_maps_list)
        return dict(loss_cls=losses_cls, loss_conf=losses_conf, loss_xy=losses_xy,
                    loss_wh=losses_wh)

    def loss_single(self, pred_map: Tensor, target_map: Tensor,
                    neg_map: Tensor) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
        """Of one level: pred_map (N, A * K, H, W), target_map (N, P_l, K), neg_map (N, P_l).

        Classes and box terms are weighted by the positives, objectness by positives and
        negatives (anchors that are neither, e.g. ignored by the assigner, add nothing).
        """
        num_imgs = len(pred_map)
        pred_map = pred_map.permute(0, 2, 3, 1).reshape(num_imgs, -1, self.num_attrib)
        pos_mask = target_map[..., 4]
        pos_and_neg_mask = neg_map.float() + pos_mask
        if torch.max(pos_and_neg_mask) > 1.:
            warnings.warn('There is overlap between pos and neg sample.')
            pos_and_neg_mask = pos_and_neg_mask.clamp(min=0., max=1.)
        pos_mask = pos_mask.unsqueeze(dim=-1)
        loss_cls = self.loss_cls(pred_map[..., 5:], target_map[..., 5:], weight=pos_mask)
        loss_conf = self.loss_conf(pred_map[..., 4], target_map[..., 4],
                                   weight=pos_and_neg_mask)
        loss_xy = self.loss_xy(pred_map[..., :2], target_map[..., :2], weight=pos_mask)
        loss_wh = self.loss_wh(pred_map[..., 2:4], target_map[..., 2:4], weight=pos_mask)
        return loss_cls, loss_conf, loss_xy, loss_wh

    def get_targets(self, anchor_list: List[List[Tensor]],
                    responsible_flag_list: List[List[Tensor]], gt_bboxes_list: List[Tensor],
                    gt_labels_list: List[Tensor]) -> YOLOTargets:
        """Targets of a batch: ``anchor_list[i][l]`` (P_l, 4) and ``responsible_flag_list[i][l]``
        (P_l,) per image and level; see :class:`YOLOTargets`."""
        num_level_anchors = [anchors.size(0) for anchors in anchor_list[0]]
        all_target_maps, all_neg_maps = multi_apply(self._get_targets_single, anchor_list,
                                                    responsible_flag_list, gt_bboxes_list,
                                                    gt_labels_list)
        return YOLOTargets(images_to_levels(all_target_maps, num_level_anchors),
                           images_to_levels(all_neg_maps, num_level_anchors))

    def _get_targets_single(self, anchors: List[Tensor], responsible_flags: List[Tensor],
                            gt_bboxes: Tensor, gt_labels: Tensor) -> Tuple[Tensor, Tensor]:
        """Of one image: anchors and responsible flags per level, gt_bboxes (k, 4), gt_labels
        (k,) → target_map (P, K) and neg_map (P,) uint8 (see :class:`YOLOTargets`)."""
        anchor_strides = torch.cat([
            torch.tensor(stride, device=gt_bboxes.device).repeat(len(level_anchors))
            for stride, level_anchors in zip(self.featmap_strides, anchors)
        ])
        concat_anchors = torch.cat(anchors)
        assign_result = self.assigner.assign(concat_anchors, torch.cat(responsible_flags),
                                             gt_bboxes)
        sampling_result = self.sampler.sample(assign_result, concat_anchors, gt_bboxes)
        pos_inds = sampling_result.pos_inds
        target_map = concat_anchors.new_zeros(concat_anchors.size(0), self.num_attrib)
        target_map[pos_inds, :4] = self.bbox_coder.encode(
            sampling_result.pos_bboxes, sampling_result.pos_gt_bboxes, anchor_strides[pos_inds])
        target_map[pos_inds, 4] = 1
        gt_labels_one_hot = F.one_hot(gt_labels, num_classes=self.num_classes).float()
        if self.one_hot_smoother != 0:
            gt_labels_one_hot = (gt_labels_one_hot * (1 - self.one_hot_smoother)
                                 + self.one_hot_smoother / self.num_classes)
        target_map[pos_inds, 5:] = gt_labels_one_hot[sampling_result.pos_assigned_gt_inds]
        neg_map = concat_anchors.new_zeros(concat_anchors.size(0), dtype=torch.uint8)
        neg_map[sampling_result.neg_inds] = 1
        return target_map, neg_map

    def aug_test(self, feats: List[Sequence[Tensor]], img_metas: List[List[dict]],
                 rescale: bool = False) -> List[Detections]:
        """Flip/scale TTA: see ``BBoxTestMixin.aug_test_bboxes``."""
        return self.aug_test_bboxes(feats, img_metas, rescale=rescale)
