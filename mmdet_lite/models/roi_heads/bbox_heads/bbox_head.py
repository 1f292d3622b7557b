"""BBoxHead: the second-stage classifier and box regressor on pooled RoI features.

Shapes: ``K`` RoIs, ``C`` foreground classes (index ``C`` is background), ``D`` the feature
dimension after the head's layers.
"""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import nn
from torch.nn.modules.utils import _pair

from ....core import build_bbox_coder, multi_apply, multiclass_nms
from ....core.bbox.scale_factor import scale_factor_tensor
from ...builder import HEADS, build_loss
from ...layers.normed_predictor import build_linear_layer
from ...losses import accuracy
from ....core.utils.config import as_config
from ...utils.results import BBoxTargets, Detections, RoICandidates

Tensor = torch.Tensor

# Defaults of BBoxHead and its ConvFC subclasses (2.x's Faster R-CNN box head).
_DEFAULT_CODER = dict(type='DeltaXYWHBBoxCoder', clip_border=True, target_means=[0., 0., 0., 0.],
                      target_stds=[0.1, 0.1, 0.2, 0.2])
_DEFAULT_LOSS_CLS = dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)
_DEFAULT_LOSS_BBOX = dict(type='SmoothL1Loss', beta=1.0, loss_weight=1.0)




@HEADS.register_module()
class BBoxHead(BaseModule):
    """Simplest RoI box head: optional average pooling, then one ``fc_cls`` and one ``fc_reg``.

    Args:
        with_avg_pool: average-pool the RoI features to 1x1 before the predictors.
        with_cls / with_reg: build the classifier / the regressor.
        roi_feat_size: side of the pooled RoI features.
        in_channels: channels of the RoI features.
        num_classes: foreground classes ``C``; ``fc_cls`` predicts ``C + 1`` scores.
        bbox_coder: coder between proposals and regression targets.
        reg_class_agnostic: one box (4) instead of one per class (4 * C).
        reg_decoded_bbox: regress decoded boxes (for IoU-style losses) instead of deltas.
        reg_predictor_cfg / cls_predictor_cfg: predictor layers (``dict(type='Linear')``).
        loss_cls / loss_bbox: the classification and regression losses.
    """

    def __init__(self,
                 with_avg_pool: bool = False,
                 with_cls: bool = True,
                 with_reg: bool = True,
                 roi_feat_size: int = 7,
                 in_channels: int = 256,
                 num_classes: int = 80,
                 bbox_coder: dict = _DEFAULT_CODER,
                 reg_class_agnostic: bool = False,
                 reg_decoded_bbox: bool = False,
                 reg_predictor_cfg: dict = dict(type='Linear'),
                 cls_predictor_cfg: dict = dict(type='Linear'),
                 loss_cls: dict = _DEFAULT_LOSS_CLS,
                 loss_bbox: dict = _DEFAULT_LOSS_BBOX,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg)
        if not (with_cls or with_reg):
            raise ValueError('BBoxHead needs with_cls=True or with_reg=True (or both)')
        self.with_avg_pool = with_avg_pool
        self.with_cls = with_cls
        self.with_reg = with_reg
        self.roi_feat_size = _pair(roi_feat_size)
        self.roi_feat_area = self.roi_feat_size[0] * self.roi_feat_size[1]
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.reg_class_agnostic = reg_class_agnostic
        self.reg_decoded_bbox = reg_decoded_bbox
        self.reg_predictor_cfg = dict(reg_predictor_cfg)
        self.cls_predictor_cfg = dict(cls_predictor_cfg)
        self.fp16_enabled = False

        self.bbox_coder = build_bbox_coder(bbox_coder)
        self.loss_cls = build_loss(loss_cls)
        self.loss_bbox = build_loss(loss_bbox)

        in_features = in_channels if with_avg_pool else in_channels * self.roi_feat_area
        if with_avg_pool:
            self.avg_pool = nn.AvgPool2d(self.roi_feat_size)
        self._build_predictors(in_features, in_features)
        self.debug_imgs = None
        if init_cfg is None:
            self.init_cfg = []
            if with_cls:
                self.init_cfg.append(dict(type='Normal', std=0.01, override=dict(name='fc_cls')))
            if with_reg:
                self.init_cfg.append(dict(type='Normal', std=0.001, override=dict(name='fc_reg')))

    def _build_predictors(self, cls_in_features: int, reg_in_features: int) -> None:
        """``fc_cls`` (``C + 1`` outputs, or what a custom loss asks for: Seesaw's ``C + 2``) and
        ``fc_reg`` (4 or 4 * C) from the predictor configs."""
        if self.with_cls:
            cls_channels = (self.loss_cls.get_cls_channels(self.num_classes)
                            if self.custom_cls_channels else self.num_classes + 1)
            self.fc_cls = build_linear_layer(self.cls_predictor_cfg, cls_in_features,
                                             cls_channels)
        if self.with_reg:
            out_dim_reg = 4 if self.reg_class_agnostic else 4 * self.num_classes
            self.fc_reg = build_linear_layer(self.reg_predictor_cfg, reg_in_features,
                                             out_dim_reg)

    @property
    def custom_cls_channels(self) -> bool:
        return getattr(self.loss_cls, 'custom_cls_channels', False)

    @property
    def custom_activation(self) -> bool:
        return getattr(self.loss_cls, 'custom_activation', False)

    @property
    def custom_accuracy(self) -> bool:
        return getattr(self.loss_cls, 'custom_accuracy', False)

    def forward(self, x: Tensor) -> Tuple[Optional[Tensor], Optional[Tensor]]:
        """x (K, in_channels, h, w) -> cls_score (K, C + 1), bbox_pred (K, 4 or 4 * C)."""
        if self.with_avg_pool:
            if x.numel() > 0:
                x = self.avg_pool(x)
            else:
                x = x.new_zeros(x.shape[:2] + (1, 1))
        x = x.flatten(1)
        cls_score = self.fc_cls(x) if self.with_cls else None
        bbox_pred = self.fc_reg(x) if self.with_reg else None
        return cls_score, bbox_pred

    # ------------------------------------------------------------------ targets and losses
    def _get_target_single(self, pos_bboxes: Tensor, neg_bboxes: Tensor, pos_gt_bboxes: Tensor,
                           pos_gt_labels: Tensor, cfg) -> BBoxTargets:
        """Of one image: targets of its sampled RoIs, positives first.

        Returns ``BBoxTargets``: ``labels`` (K,) (``C`` for negatives), ``label_weights`` (K,),
        ``bbox_targets`` (K, 4) and ``bbox_weights`` (K, 4); K = P + Q sampled RoIs.
        """
        num_pos = pos_bboxes.size(0)
        num_neg = neg_bboxes.size(0)
        num_samples = num_pos + num_neg
        labels = pos_bboxes.new_full((num_samples, ), self.num_classes, dtype=torch.long)
        label_weights = pos_bboxes.new_zeros(num_samples)
        bbox_targets = pos_bboxes.new_zeros(num_samples, 4)
        bbox_weights = pos_bboxes.new_zeros(num_samples, 4)
        if num_pos > 0:
            labels[:num_pos] = pos_gt_labels
            pos_weight = cfg.get('pos_weight', -1)
            label_weights[:num_pos] = 1.0 if pos_weight <= 0 else pos_weight
            if self.reg_decoded_bbox:
                pos_bbox_targets = pos_gt_bboxes
            else:
                pos_bbox_targets = self.bbox_coder.encode(pos_bboxes, pos_gt_bboxes)
            bbox_targets[:num_pos] = pos_bbox_targets
            bbox_weights[:num_pos] = 1
        if num_neg > 0:
            label_weights[-num_neg:] = 1.0
        return BBoxTargets(labels, label_weights, bbox_targets, bbox_weights)

    def get_targets(self, sampling_results: Sequence, gt_bboxes: Sequence[Tensor],
                    gt_labels: Sequence[Tensor], rcnn_train_cfg,
                    concat: bool = True) -> BBoxTargets:
        """Targets of the sampled RoIs of every image, in ``bbox2roi`` order.

        Returns ``BBoxTargets(labels, label_weights, bbox_targets, bbox_weights)``, each
        concatenated over images when ``concat`` (else lists over images).
        """
        cfg = rcnn_train_cfg if rcnn_train_cfg is not None else {}
        labels, label_weights, bbox_targets, bbox_weights = multi_apply(
            self._get_target_single,
            [res.pos_bboxes for res in sampling_results],
            [res.neg_bboxes for res in sampling_results],
            [res.pos_gt_bboxes for res in sampling_results],
            [res.pos_gt_labels for res in sampling_results],
            cfg=cfg)
        if concat:
            labels = torch.cat(labels, 0)
            label_weights = torch.cat(label_weights, 0)
            bbox_targets = torch.cat(bbox_targets, 0)
            bbox_weights = torch.cat(bbox_weights, 0)
        return BBoxTargets(labels, label_weights, bbox_targets, bbox_weights)

    def loss(self, cls_score: Optional[Tensor], bbox_pred: Optional[Tensor], rois: Tensor,
             labels: Tensor, label_weights: Tensor, bbox_targets: Tensor, bbox_weights: Tensor,
             reduction_override: Optional[str] = None) -> Dict[str, Tensor]:
        """``loss_cls`` averaged over RoIs with weight, ``acc`` (%, a log value, not summed),
        ``loss_bbox`` on positives averaged over all sampled RoIs (2.x's normalisation).

        With zero RoIs every key is still present, as a zero that keeps the graph.
        """
        losses: Dict[str, Tensor] = dict()
        if cls_score is not None:
            avg_factor = max(torch.sum(label_weights > 0).float().item(), 1.)
            if cls_score.numel() > 0:
                loss_cls = self.loss_cls(cls_score, labels, label_weights, avg_factor=avg_factor,
                                         reduction_override=reduction_override)
                if isinstance(loss_cls, dict):
                    losses.update(loss_cls)
                else:
                    losses['loss_cls'] = loss_cls
                if self.custom_activation:
                    losses.update(self.loss_cls.get_accuracy(cls_score, labels))
                else:
                    losses['acc'] = accuracy(cls_score, labels)
            else:
                losses['loss_cls'] = cls_score.sum() * 0.
                losses['acc'] = cls_score.new_zeros(())
        if bbox_pred is not None:
            pos_inds = (labels >= 0) & (labels < self.num_classes)
            if pos_inds.any():
                if self.reg_decoded_bbox:
                    bbox_pred = self._decode(rois[:, 1:], bbox_pred)
                if self.reg_class_agnostic:
                    pos_bbox_pred = bbox_pred.view(bbox_pred.size(0), 4)[pos_inds]
                else:
                    pos_bbox_pred = bbox_pred.view(bbox_pred.size(0), -1, 4)[pos_inds,
                                                                             labels[pos_inds]]
                losses['loss_bbox'] = self.loss_bbox(
                    pos_bbox_pred, bbox_targets[pos_inds], bbox_weights[pos_inds],
                    avg_factor=bbox_targets.size(0), reduction_override=reduction_override)
            else:
                losses['loss_bbox'] = bbox_pred.sum() * 0.
        return losses

    # ------------------------------------------------------------------ inference
    def _decode(self, priors: Tensor, bbox_pred: Tensor,
                max_shape: Optional[Sequence[int]] = None) -> Tensor:
        """Decode ``bbox_pred`` (K, 4 * n) against ``priors`` (K, 4) → boxes (K, 4 * n)."""
        num_rois = priors.size(0)
        num_boxes = bbox_pred.size(-1) // 4
        if num_rois == 0:
            return bbox_pred.new_zeros(0, 4 * num_boxes)
        expanded = priors[:, None, :].expand(num_rois, num_boxes, 4).reshape(-1, 4)
        boxes = self.bbox_coder.decode(expanded, bbox_pred.reshape(-1, 4), max_shape=max_shape)
        return boxes.reshape(num_rois, num_boxes * 4)

    def get_bboxes(self, rois: Tensor, cls_score: Optional[Tensor], bbox_pred: Optional[Tensor],
                   img_shape: Optional[Sequence[int]], scale_factor, rescale: bool = False,
                   cfg=None) -> Union[Detections, RoICandidates]:
        """Of one image: :meth:`get_candidates`, then :meth:`nms_detections` when ``cfg`` is
        given (2.x's switch: ``cfg=None`` returns the candidates).

        Args:
            rois: (K, 5) RoIs of the image.
            cls_score: (K, C + 1) logits; bbox_pred: (K, 4) or (K, 4 * C) deltas.
            img_shape: (h, w[, c]) of the resized image, for clipping.
            scale_factor: ndarray [w_scale, h_scale, w_scale, h_scale] (or a float).
            rescale: map boxes back to the original image.
            cfg: rcnn test config (``score_thr``, ``nms``, ``max_per_img``); None returns
                ``RoICandidates(bboxes (K, 4 or 4 * C), scores (K, C + 1))`` without NMS.
        Returns:
            ``Detections(det_bboxes (n, 5) [x1, y1, x2, y2, score], det_labels (n,))``.
        """
        candidates = self.get_candidates(rois, cls_score, bbox_pred, img_shape, scale_factor,
                                         rescale=rescale)
        if cfg is None:
            return candidates
        return self.nms_detections(candidates, cfg)

    def get_candidates(self, rois: Tensor, cls_score: Optional[Tensor],
                       bbox_pred: Optional[Tensor], img_shape: Optional[Sequence[int]],
                       scale_factor, rescale: bool = False) -> RoICandidates:
        """Of one image: class scores and decoded (clipped) boxes of its K RoIs, before NMS.

        ``rois`` (K, 5); ``cls_score`` (K, C + 1) logits; ``bbox_pred`` (K, 4 or 4 * C) deltas
        (None: the RoIs themselves, clipped); boxes divided by ``scale_factor`` if ``rescale``.
        """
        if cls_score is None:
            raise ValueError('get_bboxes needs cls_score: build the head with with_cls=True')
        if self.custom_cls_channels:
            scores = self.loss_cls.get_activation(cls_score)
        else:
            scores = F.softmax(cls_score, dim=-1)
        max_shape = None if img_shape is None else tuple(img_shape[:2])
        if bbox_pred is not None:
            bboxes = self._decode(rois[:, 1:], bbox_pred, max_shape=max_shape)
        else:
            bboxes = rois[:, 1:].clone()
            if max_shape is not None:
                bboxes[:, [0, 2]] = bboxes[:, [0, 2]].clamp(min=0, max=max_shape[1])
                bboxes[:, [1, 3]] = bboxes[:, [1, 3]].clamp(min=0, max=max_shape[0])
        if rescale and bboxes.size(0) > 0:
            scale = scale_factor_tensor(scale_factor, bboxes)
            bboxes = (bboxes.view(bboxes.size(0), -1, 4) / scale).view(bboxes.size(0), -1)
        return RoICandidates(bboxes, scores)

    def nms_detections(self, candidates: RoICandidates, cfg) -> Detections:
        """Per-class NMS of one image's candidates (``cfg.score_thr``, ``cfg.nms``,
        ``cfg.max_per_img``) → ``Detections`` (n, 5), (n,)."""
        cfg = as_config(cfg)
        bboxes, scores = candidates
        return Detections(*multiclass_nms(bboxes, scores, cfg.score_thr, cfg.nms,
                                          cfg.max_per_img))

    def refine_bboxes(self, rois: Tensor, labels: Tensor, bbox_preds: Tensor,
                      pos_is_gts: List[Tensor], img_metas: List[dict]) -> List[Tensor]:
        """Regress ``rois`` (K, 5) of a batch by their predicted class, dropping sampled GTs.

        Returns, per image, refined boxes (k_i, 4) (the cascade stage's next proposals).
        """
        img_ids = rois[:, 0].long().unique(sorted=True)
        if img_ids.numel() > len(img_metas):
            raise ValueError(f'rois name {img_ids.numel()} images but {len(img_metas)} '
                             'img_metas are given')
        bboxes_list = []
        for i in range(len(img_metas)):
            inds = torch.nonzero(rois[:, 0] == i, as_tuple=False).squeeze(1)
            bboxes = self.regress_by_class(rois[inds, 1:], labels[inds], bbox_preds[inds],
                                           img_metas[i])
            pos_is_gt = pos_is_gts[i]
            keep = pos_is_gt.new_ones(inds.numel(), dtype=torch.bool)
            keep[:pos_is_gt.numel()] = pos_is_gt == 0
            bboxes_list.append(bboxes[keep])
        return bboxes_list

    def regress_by_class(self, rois: Tensor, label: Tensor, bbox_pred: Tensor,
                         img_meta: dict) -> Tensor:
        """Of one image: decode ``bbox_pred`` (K, 4 or 4 * C) of class ``label`` (K,).

        Returns regressed RoIs of the input's shape, as 2.x: (K, 4) boxes for (K, 4) ``rois``,
        (K, 5) with the batch index kept for (K, 5) ``rois`` (a cascade's next-stage RoIs).
        """
        if rois.size(1) not in (4, 5):
            raise ValueError(f'rois must be (K, 4) or (K, 5), got {tuple(rois.shape)}')
        if not self.reg_class_agnostic:
            label = label.clamp(max=self.num_classes - 1)
            bbox_pred = bbox_pred.view(bbox_pred.size(0), -1, 4)
            bbox_pred = bbox_pred[torch.arange(bbox_pred.size(0), device=label.device), label]
        boxes = rois[:, -4:]
        max_shape = tuple(img_meta['img_shape'][:2])
        new_boxes = self._decode(boxes, bbox_pred, max_shape=max_shape)
        if rois.size(1) == 4:
            return new_boxes
        return torch.cat([rois[:, :1], new_boxes], dim=1)
