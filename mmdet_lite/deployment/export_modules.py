"""Export wrappers: a detector as one ``forward(input) -> (dets, labels[, masks])`` module.

The wrappers reuse the detector's own modules (backbone, neck, head convolutions, RoI heads,
prior generators, box coders) and replace only its test-time post-processing by the
batch-wide, branch-free equivalent of :mod:`.graph_ops`, with the same semantics as
``simple_test(rescale=False)``: the same score thresholds, ``nms_pre`` top-k, box decoding and
clipping, minimum box size, per-level / per-class NMS and ``max_per_img``. The outputs follow
:mod:`.onnx_contract`; boxes are clipped to the input's (H, W) (the graph has no
``img_shape``).

What exports: single-stage detectors whose dense head keeps ``BaseDenseHead``'s test-time
steps (RetinaNet, FCOS, ATSS, FSAF, FreeAnchor, NAS-FCOS, AutoAssign, DDOD, VFNet, YOLOF,
SSD) and two-stage detectors with ``RPNHead`` + ``StandardRoIHead`` (``SingleRoIExtractor``
with RoIAlign, a ``BBoxHead`` and optionally an ``FCNMaskHead``: Faster / Mask R-CNN on FPN or
C4 backbones). Other heads override those steps and are refused with the reason.

Shapes: ``N`` images, ``H, W`` input size, ``L`` levels, ``P_l`` priors of level l, ``C``
classes, ``K`` rows per image (``max_per_img``), ``M`` the mask size.
"""
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..models.dense_heads.base_dense_head import BaseDenseHead
from ..models.dense_heads.rpn_head import RPNHead
from ..models.detectors.single_stage import SingleStageDetector
from ..models.detectors.two_stage import TwoStageDetector
from ..models.roi_heads.bbox_heads.bbox_head import BBoxHead
from ..models.roi_heads.mask_heads.fcn_mask_head import FCNMaskHead
from ..models.roi_heads.standard_roi_head import StandardRoIHead
from .graph_ops import (batched_nms, check_roi_extractor, concat_levels, flat_select,
                        grouped_nms, image_ids, padded_outputs, parse_nms_cfg,
                        roi_align_levels, scatter_rows, top_per_image)

# Post-processing steps a dense head must inherit unchanged for the generic graph to be its.
_DENSE_STEPS = ('get_bboxes', '_get_bboxes_single', '_bbox_post_process', '_merge_candidates',
                '_nms_detections', 'simple_test', 'simple_test_bboxes')
_RPN_STEPS = ('get_bboxes', '_get_bboxes_single', '_proposal_post_process')
_BBOX_STEPS = ('get_bboxes', 'get_candidates', 'nms_detections', '_decode')
_ROI_STEPS = ('simple_test', 'simple_test_bboxes', 'simple_test_mask', '_bbox_forward',
              '_mask_forward')


def _overridden(obj: object, base: type, names: Sequence[str]) -> List[str]:
    """The methods of ``names`` that ``type(obj)`` overrides relative to ``base``."""
    return [name for name in names if getattr(type(obj), name) is not getattr(base, name)]


def _require(obj: object, base: type, names: Sequence[str], what: str) -> None:
    if not isinstance(obj, base):
        raise NotImplementedError(f'{what} {type(obj).__name__} cannot be exported: the graph '
                                  f'reproduces {base.__name__} post-processing only')
    changed = _overridden(obj, base, names)
    if changed:
        raise NotImplementedError(
            f'{what} {type(obj).__name__} overrides {changed} of {base.__name__}; its test-time '
            'post-processing differs from the one the ONNX graph reproduces, so it cannot be '
            'exported (the families that can: mmdet_lite/deployment/export_modules.py)')


def _input_max_shape(img: Tensor) -> Tensor:
    """(2,) float tensor (H, W) of the input batch, the clipping bound of every decoded box.

    A tensor built element by element: the coders' ``new_tensor((H, W))`` would make
    ``torch.export`` specialise H and W to the example's values.
    """
    return torch.stack([torch.full((), img.shape[2], dtype=img.dtype, device=img.device),
                        torch.full((), img.shape[3], dtype=img.dtype, device=img.device)])


def _detection_limit(nms: dict, max_per_img: int) -> int:
    """Detections kept per image: ``max_per_img``, also bounded by the NMS config's ``max_num``
    (either <= 0: no bound from it)."""
    if nms['max_num'] <= 0:
        return max_per_img
    return min(max_per_img, nms['max_num']) if max_per_img > 0 else nms['max_num']


def _nms_keep(boxes: Tensor, scores: Tensor, groups: Tensor, img_ids: Tensor, nms: dict,
              num_imgs: int, max_per_img: int) -> Tuple[Tensor, Tensor]:
    """``(inds, slots)`` of the candidates (m,) kept by grouped NMS then ``max_per_img`` per
    image (also bounded by the NMS config's ``max_num``), best first."""
    if nms['score_threshold'] > 0:
        valid = flat_select(scores > nms['score_threshold'])
        boxes, scores, groups, img_ids = (boxes[valid], scores[valid], groups[valid],
                                          img_ids[valid])
    else:
        valid = None
    if nms['class_agnostic']:
        groups = img_ids
    keep = grouped_nms(boxes, scores, groups, nms['iou_threshold'], nms['offset'])
    inds, slots = top_per_image(img_ids[keep], num_imgs, _detection_limit(nms, max_per_img),
                                max_per_img)
    kept = keep[inds]
    return (kept if valid is None else valid[kept]), slots


class DenseHeadPostProcess(nn.Module):
    """``BaseDenseHead.get_bboxes`` (+ NMS) of a whole batch → dets (N, K, 5), labels (N, K).

    Per level: class scores (sigmoid, or softmax without the background), the ``nms_pre``
    best (prior, class) pairs above ``score_thr``, decoded against their priors and clipped;
    scores times the sigmoid of the score factors (FCOS's centerness) if the head has them;
    then class-aware NMS and ``max_per_img``.
    """

    def __init__(self, head: BaseDenseHead):
        super().__init__()
        _require(head, BaseDenseHead, _DENSE_STEPS, 'dense head')
        self.head = head
        cfg = head.resolve_test_cfg()
        self.nms_pre = int(cfg.get('nms_pre', -1))
        self.score_thr = float(cfg.get('score_thr', 0.0))
        self.nms = parse_nms_cfg(cfg.nms, f'{type(head).__name__}.test_cfg')
        self.max_per_img = int(cfg.get('max_per_img', -1))
        if self.max_per_img <= 0:
            raise ValueError(f'{type(head).__name__}.test_cfg.max_per_img is '
                             f'{self.max_per_img}; the ONNX graph has a fixed number of rows, '
                             'set max_per_img=100 (or the number you need)')

    def forward(self, img: Tensor, cls_scores: Sequence[Tensor], bbox_preds: Sequence[Tensor],
                score_factors: Optional[Sequence[Tensor]] = None) -> Tuple[Tensor, Tensor]:
        head = self.head
        num_imgs = img.shape[0]
        max_shape = _input_max_shape(img)
        featmap_sizes = [score.shape[-2:] for score in cls_scores]
        mlvl_priors = head.prior_generator.grid_priors(featmap_sizes, dtype=cls_scores[0].dtype,
                                                       device=cls_scores[0].device)
        num_classes = head.cls_out_channels if head.use_sigmoid_cls else head.cls_out_channels - 1
        mlvl_boxes, mlvl_scores, mlvl_labels, mlvl_valid = [], [], [], []
        for level, (cls_score, bbox_pred, priors) in enumerate(
                zip(cls_scores, bbox_preds, mlvl_priors)):
            scores = cls_score.permute(0, 2, 3, 1).reshape(num_imgs, -1, head.cls_out_channels)
            scores = scores.sigmoid() if head.use_sigmoid_cls else scores.softmax(-1)[..., :-1]
            scores = scores.reshape(num_imgs, -1)                         # (N, P_l * C)
            num_pairs = scores.shape[1]
            # Pairs at or below score_thr are not candidates; -1 sorts them last.
            masked = torch.where(scores > self.score_thr, scores, scores.new_full((), -1.0))
            if self.nms_pre > 0:
                top_scores, top_inds = masked.topk(torch.sym_min(self.nms_pre, num_pairs), dim=1)
            else:
                top_scores, top_inds = masked, torch.arange(
                    num_pairs, device=scores.device)[None].expand(num_imgs, num_pairs)
            valid = top_scores > self.score_thr
            prior_inds = torch.div(top_inds, num_classes, rounding_mode='floor')
            labels = top_inds - prior_inds * num_classes
            deltas = bbox_pred.permute(0, 2, 3, 1).reshape(num_imgs, -1, 4)
            deltas = deltas.gather(1, prior_inds[..., None].expand(-1, -1, 4))
            level_priors = priors[prior_inds]                              # (N, k, D)
            boxes = head.bbox_coder.decode(level_priors, deltas, max_shape=max_shape)
            if score_factors is not None:
                factors = score_factors[level].permute(0, 2, 3, 1).reshape(num_imgs, -1)
                top_scores = top_scores * factors.sigmoid().gather(1, prior_inds)
            mlvl_boxes.append(boxes)
            mlvl_scores.append(top_scores)
            mlvl_labels.append(labels)
            mlvl_valid.append(valid)
        boxes = concat_levels(mlvl_boxes).reshape(-1, 4)
        scores = concat_levels(mlvl_scores).reshape(-1)
        labels = concat_levels(mlvl_labels).reshape(-1)
        valid = concat_levels(mlvl_valid)
        img_ids = image_ids(num_imgs, valid.shape[1], valid.device)
        cand = flat_select(valid)
        boxes, scores, labels, img_ids = boxes[cand], scores[cand], labels[cand], img_ids[cand]
        kept, slots = _nms_keep(boxes, scores, img_ids * num_classes + labels, img_ids,
                                self.nms, num_imgs, self.max_per_img)
        return padded_outputs(num_imgs, self.max_per_img, boxes[kept], scores[kept],
                              labels[kept], slots)


class SingleStageExport(nn.Module):
    """A single-stage detector (RetinaNet, FCOS, ATSS, ...): input (N, 3, H, W) → dets, labels."""

    def __init__(self, detector: SingleStageDetector):
        super().__init__()
        self.detector = detector
        self.post_process = DenseHeadPostProcess(detector.bbox_head)
        self.max_per_img = self.post_process.max_per_img
        self.with_mask = False

    def forward(self, img: Tensor) -> Tuple[Tensor, Tensor]:
        outs = self.detector.bbox_head(self.detector.extract_feat(img))
        if len(outs) not in (2, 3):
            raise NotImplementedError(f'{type(self.detector.bbox_head).__name__}.forward '
                                      f'returns {len(outs)} outputs; the graph handles '
                                      '(cls_scores, bbox_preds[, score_factors])')
        return self.post_process(img, *outs)


class RPNProposals(nn.Module):
    """``RPNHead.get_bboxes`` of a whole batch: ``(rois (N * R, 5), valid (N * R,))``.

    ``R`` is ``test_cfg.rpn.max_per_img``; image ``i``'s proposals fill rows ``[i * R,
    (i + 1) * R)`` best first as ``[i, x1, y1, x2, y2]``, and ``valid`` marks the rows that
    hold one (an image may have fewer than ``R``). The fixed size keeps the RoI head's shapes
    static (its box coder branches on the number of boxes).
    """

    def __init__(self, head: RPNHead):
        super().__init__()
        _require(head, RPNHead, _RPN_STEPS, 'RPN head')
        self.head = head
        cfg = head.resolve_test_cfg()
        self.nms_pre = int(cfg.get('nms_pre', -1))
        self.min_bbox_size = float(cfg.get('min_bbox_size', -1))
        self.nms = parse_nms_cfg(cfg.nms, f'{type(head).__name__}.test_cfg (test_cfg.rpn)')
        self.max_per_img = int(cfg.get('max_per_img', -1))
        if self.max_per_img <= 0:
            raise ValueError(f'test_cfg.rpn.max_per_img is {self.max_per_img}; the ONNX graph '
                             'needs a fixed number of proposals, set max_per_img=1000')

    def forward(self, img: Tensor, cls_scores: Sequence[Tensor],
                bbox_preds: Sequence[Tensor]) -> Tuple[Tensor, Tensor]:
        head = self.head
        num_imgs = img.shape[0]
        featmap_sizes = [score.shape[-2:] for score in cls_scores]
        mlvl_anchors = head.prior_generator.grid_priors(featmap_sizes, dtype=cls_scores[0].dtype,
                                                        device=cls_scores[0].device)
        mlvl_boxes, mlvl_scores, mlvl_levels = [], [], []
        for level, (cls_score, bbox_pred, anchors) in enumerate(
                zip(cls_scores, bbox_preds, mlvl_anchors)):
            cls_score = cls_score.permute(0, 2, 3, 1)
            if head.use_sigmoid_cls:
                scores = cls_score.reshape(num_imgs, -1).sigmoid()
            else:
                scores = cls_score.reshape(num_imgs, -1, 2).softmax(-1)[..., 0]
            deltas = bbox_pred.permute(0, 2, 3, 1).reshape(num_imgs, -1, 4)
            if self.nms_pre > 0:
                scores, inds = scores.topk(torch.sym_min(self.nms_pre, scores.shape[1]), dim=1)
                deltas = deltas.gather(1, inds[..., None].expand(-1, -1, 4))
                anchors = anchors[inds]
            else:
                anchors = anchors[None].expand(num_imgs, -1, -1)
            mlvl_boxes.append(head.bbox_coder.decode(anchors, deltas,
                                                     max_shape=_input_max_shape(img)))
            mlvl_scores.append(scores)
            mlvl_levels.append(torch.full_like(scores, level, dtype=torch.int64))
        boxes = concat_levels(mlvl_boxes).reshape(-1, 4)
        scores = concat_levels(mlvl_scores).reshape(-1)
        levels = concat_levels(mlvl_levels).reshape(-1)
        img_ids = image_ids(num_imgs, scores.shape[0] // num_imgs, scores.device)
        if self.min_bbox_size >= 0:
            w = boxes[:, 2] - boxes[:, 0]
            h = boxes[:, 3] - boxes[:, 1]
            cand = flat_select((w > self.min_bbox_size) & (h > self.min_bbox_size))
            boxes, scores, levels, img_ids = boxes[cand], scores[cand], levels[cand], img_ids[cand]
        num_levels = len(cls_scores)
        kept, slots = _nms_keep(boxes, scores, img_ids * num_levels + levels, img_ids,
                                self.nms, num_imgs, self.max_per_img)
        num_rows = num_imgs * self.max_per_img
        rois = scatter_rows(boxes[kept], slots, num_rows, 0.0)
        valid = scatter_rows(torch.ones_like(slots, dtype=torch.bool), slots, num_rows, False)
        rows_img = image_ids(num_imgs, self.max_per_img, rois.device).to(rois.dtype)
        return torch.cat([rows_img[:, None], rois], dim=1), valid


class TwoStageExport(nn.Module):
    """Faster / Mask R-CNN (``StandardRoIHead``): input (N, 3, H, W) → dets, labels[, masks].

    RPN proposals (:class:`RPNProposals`), RoIAlign per FPN level, the box head, decoding,
    per-class NMS and ``max_per_img`` as ``simple_test_bboxes``; with a mask head, its
    probabilities of each detection's class on the detection's box, at the RoI size.
    """

    def __init__(self, detector: TwoStageDetector):
        super().__init__()
        if not detector.with_rpn:
            raise NotImplementedError(f'{type(detector).__name__} has no rpn_head (it reads '
                                      'precomputed proposals) and cannot be exported')
        _require(detector.roi_head, StandardRoIHead, _ROI_STEPS, 'RoI head')
        self.detector = detector
        self.rpn = RPNProposals(detector.rpn_head)
        roi_head = detector.roi_head
        cfg = roi_head.test_cfg
        if cfg is None:
            raise ValueError('the RoI head has no test_cfg; build the detector with '
                             'test_cfg=dict(rpn=..., rcnn=...)')
        self.score_thr = float(cfg.score_thr)
        self.nms = parse_nms_cfg(cfg.nms, 'test_cfg.rcnn')
        self.max_per_img = int(cfg.max_per_img)
        if self.max_per_img <= 0:
            raise ValueError(f'test_cfg.rcnn.max_per_img is {self.max_per_img}; the ONNX graph '
                             'has a fixed number of rows, set max_per_img=100')
        self.with_mask = roi_head.with_mask
        if self.with_mask and type(roi_head.mask_head) is not FCNMaskHead:
            raise NotImplementedError(f'mask head {type(roi_head.mask_head).__name__} cannot be '
                                      'exported; only FCNMaskHead can')
        check_roi_extractor(roi_head.bbox_roi_extractor)
        if self.with_mask:
            check_roi_extractor(roi_head.mask_roi_extractor)
        bbox_head = roi_head.bbox_head
        _require(bbox_head, BBoxHead, _BBOX_STEPS, 'bbox head')
        if not bbox_head.with_cls:
            raise NotImplementedError('a bbox head without classifier cannot be exported')

    def _class_nms(self, boxes: Tensor, scores: Tensor, rois_valid: Tensor,
                   num_imgs: int) -> Tuple[Tensor, ...]:
        """``multiclass_nms`` + ``max_per_img`` of the decoded RoIs, one NMS batch per (image,
        class) (:func:`~.graph_ops.batched_nms`; a class keeps at most ``K`` boxes, which
        cannot change the image's best ``K``).

        Args:
            boxes: (N * R, 1 or C, 4) decoded boxes; scores: (N * R, C); rois_valid: (N * R,).

        Returns:
            ``(img_ids, boxes, scores, labels, slots)`` of the kept detections (m,), best
            first, with their output slots (:func:`~.graph_ops.top_per_image`).
        """
        num_rois, num_classes = scores.shape
        per_img = num_rois // num_imgs
        boxes = boxes.expand(num_rois, num_classes, 4) if boxes.shape[1] == 1 else boxes
        batch_boxes = boxes.reshape(num_imgs, per_img, num_classes, 4).permute(0, 2, 1, 3)
        batch_boxes = batch_boxes.reshape(num_imgs * num_classes, per_img, 4)
        batch_scores = torch.where(rois_valid[:, None], scores, torch.full_like(scores, -1.0))
        batch_scores = batch_scores.reshape(num_imgs, per_img, num_classes).permute(0, 2, 1)
        batch_scores = batch_scores.reshape(num_imgs * num_classes, per_img)
        limit = _detection_limit(self.nms, self.max_per_img)
        kept = batched_nms(batch_boxes, batch_scores, self.nms['iou_threshold'],
                           max(self.score_thr, self.nms['score_threshold']), limit)
        det_scores = batch_scores[kept[:, 0], kept[:, 1]]
        det_scores, order = det_scores.sort(descending=True)
        kept = kept[order]
        img_ids, labels = kept[:, 0] // num_classes, kept[:, 0] % num_classes
        inds, slots = top_per_image(img_ids, num_imgs, limit, self.max_per_img)
        kept = kept[inds]
        return (img_ids[inds], batch_boxes[kept[:, 0], kept[:, 1]], det_scores[inds],
                labels[inds], slots)

    def forward(self, img: Tensor) -> Tuple[Tensor, ...]:
        detector = self.detector
        roi_head = detector.roi_head
        bbox_head = roi_head.bbox_head
        num_imgs = img.shape[0]
        x = detector.extract_feat(img)
        rois, rois_valid = self.rpn(img, *detector.rpn_head(x))
        bbox_feats = roi_align_levels(roi_head.bbox_roi_extractor, x, rois)
        if roi_head.with_shared_head:
            bbox_feats = roi_head.shared_head(bbox_feats)
        cls_score, bbox_pred = bbox_head(bbox_feats)
        if bbox_head.custom_cls_channels:
            scores = bbox_head.loss_cls.get_activation(cls_score)
        else:
            scores = F.softmax(cls_score, dim=-1)
        num_classes = bbox_head.num_classes
        num_rois = rois.shape[0]
        max_shape = _input_max_shape(img)
        if bbox_pred is not None:
            num_boxes = bbox_pred.shape[1] // 4
            priors = rois[:, None, 1:].expand(num_rois, num_boxes, 4)
            boxes = bbox_head.bbox_coder.decode(priors.reshape(-1, 4), bbox_pred.reshape(-1, 4),
                                                max_shape=max_shape)
            boxes = boxes.reshape(num_rois, num_boxes, 4)
        else:
            max_xyxy = max_shape.flip(0).repeat(2)
            boxes = torch.minimum(rois[:, 1:].clamp(min=0), max_xyxy)[:, None]
        if self.nms['class_agnostic'] or self.nms['offset'] != 0:
            cand = torch.nonzero((scores[:, :num_classes] > self.score_thr)
                                 & rois_valid[:, None])                   # (m, 2)
            roi_inds, labels = cand[:, 0], cand[:, 1]
            box_inds = labels if boxes.shape[1] > 1 else torch.zeros_like(labels)
            cand_boxes = boxes[roi_inds, box_inds]
            cand_scores = scores[roi_inds, labels]
            img_ids = rois[roi_inds, 0].to(torch.int64)
            kept, slots = _nms_keep(cand_boxes, cand_scores, img_ids * num_classes + labels,
                                    img_ids, self.nms, num_imgs, self.max_per_img)
            det_boxes, det_labels, det_scores = cand_boxes[kept], labels[kept], cand_scores[kept]
            img_ids = img_ids[kept]
        else:
            img_ids, det_boxes, det_scores, det_labels, slots = self._class_nms(
                boxes, scores[:, :num_classes], rois_valid, num_imgs)
        dets, out_labels = padded_outputs(num_imgs, self.max_per_img, det_boxes, det_scores,
                                          det_labels, slots)
        if not self.with_mask:
            return dets, out_labels
        mask_rois = torch.cat([img_ids[:, None].to(det_boxes.dtype), det_boxes], dim=1)
        mask_feats = roi_align_levels(roi_head.mask_roi_extractor, x, mask_rois)
        if roi_head.with_shared_head:
            mask_feats = roi_head.shared_head(mask_feats)
        mask_pred = roi_head.mask_head(mask_feats)                         # (d, C or 1, M, M)
        channel = torch.zeros_like(det_labels) if roi_head.mask_head.class_agnostic \
            else det_labels
        probs = mask_pred[torch.arange(mask_pred.shape[0], device=img.device), channel].sigmoid()
        masks = scatter_rows(probs, slots, num_imgs * self.max_per_img, 0.0)
        return dets, out_labels, masks.reshape(num_imgs, self.max_per_img, *probs.shape[1:])


def build_export_module(detector: nn.Module) -> nn.Module:
    """The export wrapper of ``detector`` (in eval mode), or NotImplementedError saying why
    its family cannot be exported."""
    if isinstance(detector, TwoStageDetector):
        module = TwoStageExport(detector)
    elif isinstance(detector, SingleStageDetector):
        module = SingleStageExport(detector)
    else:
        raise NotImplementedError(f'{type(detector).__name__} cannot be exported: only '
                                  'single-stage detectors and two-stage detectors with a '
                                  'StandardRoIHead can')
    return module.eval()
