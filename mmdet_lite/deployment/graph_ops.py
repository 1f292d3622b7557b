"""Trace-friendly post-processing pieces of the exported detectors (``onnx_export``).

Everything here works on whole batches with the images' candidates flattened into one list
(each candidate carrying its image index), so that one graph serves any batch size: no Python
loop over images and no branch on a data-dependent size (``torch.export`` refuses those; the
TorchScript tracer silently freezes them). Sizes that depend on the data (scores above a
threshold, boxes NMS keeps) come from ``nonzero`` / ``NonMaxSuppression`` and stay dynamic in
the graph.

Shapes: ``N`` images, ``M`` candidates of the whole batch, ``k`` kept candidates, ``K`` output
rows per image, ``L`` feature levels.
"""
from typing import Dict, List, Sequence, Tuple

import torch
from torch import Tensor, nn
from torchvision.ops import nms as tv_nms
from torchvision.ops import roi_align as tv_roi_align

from ..models.roi_heads.roi_extractors.roi_layers import RoIAlign
from ..models.roi_heads.roi_extractors.single_level_roi_extractor import SingleRoIExtractor
from .onnx_contract import PAD_LABEL


def parse_nms_cfg(nms_cfg: dict, where: str) -> Dict[str, float]:
    """``iou_threshold``, ``offset``, ``max_num``, ``score_threshold`` and ``class_agnostic``
    of an mmcv-style ``nms`` config, with the same defaults as :func:`~mmdet_lite.core.
    batched_nms`.

    Raises:
        ValueError: the config asks for an NMS the graph cannot express (``soft_nms``).
    """
    cfg = dict(nms_cfg)
    nms_type = cfg.pop('type', 'nms')
    if nms_type != 'nms':
        raise ValueError(f"{where}: nms type {nms_type!r} cannot be exported (ONNX has only "
                         "hard NonMaxSuppression); set nms=dict(type='nms', iou_threshold=...)")
    if 'iou_thr' in cfg:
        cfg['iou_threshold'] = cfg.pop('iou_thr')
    if 'iou_threshold' not in cfg:
        raise KeyError(f'{where}: nms config {nms_cfg} has no iou_threshold')
    return dict(iou_threshold=float(cfg['iou_threshold']), offset=int(cfg.get('offset', 0)),
                max_num=int(cfg.get('max_num', -1)),
                score_threshold=float(cfg.get('score_threshold', 0.0)),
                class_agnostic=bool(cfg.get('class_agnostic', False)))


def grouped_nms(boxes: Tensor, scores: Tensor, groups: Tensor, iou_threshold: float,
                offset: int = 0) -> Tensor:
    """NMS within each group; indices (k,) of the kept candidates, highest score first.

    ``boxes`` (M, 4), ``scores`` (M,), ``groups`` (M,) int64 (image, class or level). Groups
    are separated by torchvision's coordinate trick (``batched_nms`` below 4000 boxes): each
    group's boxes are shifted by ``group * (max coordinate + 1)``, so one NonMaxSuppression
    node serves every image and class. ``offset=1`` is the legacy ``+1`` box size.
    """
    boxes = boxes.float()
    if offset == 1:
        boxes = torch.cat([boxes[:, :2], boxes[:, 2:] + 1], dim=-1)
    # The appended 0 keeps max() defined when there is no candidate.
    max_coordinate = torch.cat([boxes.reshape(-1), boxes.new_zeros(1)]).max()
    shifted = boxes + (groups.to(boxes.dtype) * (max_coordinate + 1))[:, None]
    return tv_nms(shifted, scores.float(), iou_threshold)


@torch.library.custom_op('mmdet_lite::batched_nms', mutates_args=())
def batched_nms(boxes: Tensor, scores: Tensor, iou_threshold: float, score_threshold: float,
                max_per_batch: int) -> Tensor:
    """NMS within each batch entry (an image and class): ``(k, 2)`` int64 ``[b, i]`` of the
    kept boxes, batch by batch, each batch's highest score first.

    ``boxes`` (B, n, 4), ``scores`` (B, n); a box is a candidate when its score is above
    ``score_threshold`` (strictly), and at most ``max_per_batch`` (<= 0: all) are kept per
    batch. Exported as one ONNX ``NonMaxSuppression`` over B batches of n boxes: a class's
    boxes are compared only among themselves, where :func:`grouped_nms` (one group of B * n
    shifted boxes) costs about B times more.
    """
    kept = []
    for b in range(boxes.shape[0]):
        cand = torch.nonzero(scores[b] > score_threshold).reshape(-1)
        keep = cand[tv_nms(boxes[b, cand].float(), scores[b, cand].float(), iou_threshold)]
        if max_per_batch > 0:
            keep = keep[:max_per_batch]
        kept.append(torch.stack([torch.full_like(keep, b), keep], dim=1))
    return torch.cat(kept) if kept else boxes.new_zeros((0, 2), dtype=torch.int64)


@batched_nms.register_fake
def _batched_nms_fake(boxes: Tensor, scores: Tensor, iou_threshold: float,
                      score_threshold: float, max_per_batch: int) -> Tensor:
    num_kept = torch.library.get_ctx().new_dynamic_size()
    return boxes.new_empty((num_kept, 2), dtype=torch.int64)


def rank_in_image(img_ids: Tensor, num_imgs: int) -> Tensor:
    """(k,) rank of each candidate among those of its image, in list order.

    ``img_ids`` (k,) int64; the candidates are assumed sorted by score (NMS's output order),
    so rank ``r`` is the image's ``r``-th best.
    """
    images = torch.arange(num_imgs, device=img_ids.device)
    one_hot = (img_ids[:, None] == images[None, :]).to(torch.int64)   # (k, N)
    return (one_hot.cumsum(0) * one_hot).sum(1) - 1


def top_per_image(img_ids: Tensor, num_imgs: int, max_per_img: int,
                  rows_per_img: int = -1) -> Tuple[Tensor, Tensor]:
    """The first ``max_per_img`` candidates of each image (list order = score order).

    Returns ``(inds (m,), slots (m,))``: indices into the list and the flat output slot
    ``img * rows_per_img + rank`` of each kept candidate (``rows_per_img`` <= 0: the
    output has ``max_per_img`` rows per image).
    """
    rank = rank_in_image(img_ids, num_imgs)
    inds = torch.nonzero(rank < max_per_img).reshape(-1)
    stride = rows_per_img if rows_per_img > 0 else max_per_img
    return inds, img_ids[inds] * stride + rank[inds]


def scatter_rows(values: Tensor, slots: Tensor, num_rows: int, fill: float) -> Tensor:
    """(num_rows, ...) rows filled with ``fill`` and ``values`` (m, ...) written at ``slots``
    (m,)."""
    out = values.new_full((num_rows, ) + tuple(values.shape[1:]), fill)
    return out.index_put((slots, ), values)


def padded_outputs(num_imgs: int, max_per_img: int, bboxes: Tensor, scores: Tensor,
                   labels: Tensor, slots: Tensor) -> Tuple[Tensor, Tensor]:
    """The contract's ``dets`` (N, K, 5) float32 and ``labels`` (N, K) int64 from the kept
    detections (m,) and their slots (:func:`top_per_image`); padding rows are zeros / -1."""
    num_rows = num_imgs * max_per_img
    dets = torch.cat([bboxes.float(), scores.float()[:, None]], dim=1)
    dets = scatter_rows(dets, slots, num_rows, 0.0).reshape(num_imgs, max_per_img, 5)
    labels = scatter_rows(labels.to(torch.int64), slots, num_rows, PAD_LABEL)
    return dets, labels.reshape(num_imgs, max_per_img)


def check_roi_extractor(extractor: nn.Module) -> None:
    """Raise NotImplementedError unless :func:`roi_align_levels` reproduces ``extractor``."""
    if type(extractor) is not SingleRoIExtractor:
        raise NotImplementedError(f'{type(extractor).__name__} cannot be exported; only '
                                  'SingleRoIExtractor (the FPN RoI extractor) can')
    layer = extractor.roi_layers[0]
    if not all(type(layer) is RoIAlign for layer in extractor.roi_layers):
        raise NotImplementedError(f'roi_layer {type(layer).__name__} cannot be exported; '
                                  "only roi_layer=dict(type='RoIAlign', ...) can")


def roi_align_levels(extractor: nn.Module, feats: Sequence[Tensor], rois: Tensor) -> Tensor:
    """``SingleRoIExtractor`` forward without data-dependent branches: (K, C, h, w).

    Each RoI (K, 5) is pooled from the level :meth:`SingleRoIExtractor.map_roi_levels` gives
    it, by ``torchvision.ops.roi_align`` (ONNX ``RoiAlign``, ``half_pixel`` when aligned).
    The extractor must pass :func:`check_roi_extractor` (checked when the wrapper is built:
    module types are not reliable while ``torch.export`` traces).
    """
    layers = list(extractor.roi_layers)
    feats = list(feats[:extractor.num_inputs])
    out_h, out_w = layers[0].output_size
    num_levels = len(feats)
    if num_levels == 1:
        return _roi_align(layers[0], feats[0], rois)
    target_lvls = extractor.map_roi_levels(rois, num_levels)
    roi_feats = feats[0].new_zeros(rois.shape[0], extractor.out_channels, out_h, out_w)
    for level in range(num_levels):
        inds = torch.nonzero(target_lvls == level).reshape(-1)
        roi_feats = roi_feats.index_put((inds, ), _roi_align(layers[level], feats[level],
                                                             rois[inds]))
    return roi_feats


def _roi_align(layer: RoIAlign, feat: Tensor, rois: Tensor) -> Tensor:
    return tv_roi_align(feat, rois.to(feat.dtype), layer.output_size, layer.spatial_scale,
                        layer.sampling_ratio, layer.aligned)


def image_ids(num_imgs: int, per_image: int, device: torch.device) -> Tensor:
    """(N * per_image,) image index of each row of a (N, per_image, ...) batch, flattened."""
    ids = torch.arange(num_imgs, device=device)[:, None]
    return ids.expand(num_imgs, per_image).reshape(-1)


def flat_select(mask: Tensor) -> Tensor:
    """Indices (m,) of the True entries of a flattened bool ``mask``."""
    return torch.nonzero(mask.reshape(-1)).reshape(-1)


def concat_levels(tensors: List[Tensor], dim: int = 1) -> Tensor:
    return tensors[0] if len(tensors) == 1 else torch.cat(tensors, dim=dim)
