"""Soft-NMS (Bodla et al., ICCV 2017, arXiv:1704.04503) without compiled code, with the
semantics of mmcv 1.x's ``soft_nms`` (torchvision has no soft-NMS).

mmcv's CPU kernel, which this reproduces step by step:

1. at step ``i`` the highest current score among the boxes not yet picked or dropped is
   picked (the first one on ties, in the kernel's working order) and written out with its
   current score;
2. every other remaining box ``j`` has its score multiplied by
   ``1 - IoU`` if ``IoU >= iou_threshold`` ('linear'), ``exp(-IoU^2 / sigma)`` ('gaussian')
   or ``0`` if ``IoU >= iou_threshold`` ('naive');
3. a box whose score falls below ``min_score`` is dropped: the last remaining box takes its
   slot in the working order (this order decides ties in step 1).

The picked box of a step is never dropped, even when its score is below ``min_score``.
Boxes are processed in float32 on the CPU, as mmcv does, by a numpy loop with one vectorised
step per kept box (about 0.1 s for 2000 boxes). Against mmcv's compiled kernel the kept boxes,
their order and the 'linear' / 'naive' scores are identical; 'gaussian' scores can differ by one
float32 ulp (the C library's ``expf`` is not correctly rounded).
"""
from typing import Dict, Tuple, Union

import numpy as np
import torch
from torch import Tensor

_METHODS = {'naive': 0, 'linear': 1, 'gaussian': 2}


def _compact_order(dropped: np.ndarray) -> np.ndarray:
    """Working order after mmcv's "swap the dropped box with the last box" compaction.

    ``dropped`` (m,) flags the boxes of a segment. Kept boxes before position ``K`` (the
    number kept) stay; each dropped slot there, in increasing order, is filled by the kept
    boxes after ``K``, taken from the end backwards. Returns the (K,) positions of the new
    order in the old one.
    """
    num_kept = dropped.size - int(dropped.sum())
    order = np.arange(num_kept)
    holes = np.flatnonzero(dropped[:num_kept])
    if holes.size > 0:
        tail_kept = np.flatnonzero(~dropped[num_kept:]) + num_kept
        order[holes] = tail_kept[::-1]
    return order


def soft_nms(boxes: Union[Tensor, np.ndarray], scores: Union[Tensor, np.ndarray],
             iou_threshold: float = 0.3, sigma: float = 0.5, min_score: float = 1e-3,
             method: str = 'linear', offset: int = 0
             ) -> Tuple[Union[Tensor, np.ndarray], Union[Tensor, np.ndarray]]:
    """Soft-NMS with mmcv's ``soft_nms`` signature and results.

    Args:
        boxes: (n, 4) xyxy boxes.
        scores: (n,) scores.
        iou_threshold: overlap from which 'linear' and 'naive' decay a score ('gaussian'
            ignores it).
        sigma: the Gaussian's parameter: ``exp(-IoU^2 / sigma)``.
        min_score: boxes whose decayed score falls below this are dropped.
        method: 'linear', 'gaussian' or 'naive' (hard NMS with ``>=``).
        offset: 0, or 1 for the legacy ``+1`` box-size convention.

    Returns:
        dets (k, 5) ``[x1, y1, x2, y2, decayed score]`` in the order picked (non-increasing
        score) and keep (k,) the indices into ``boxes``; numpy in, numpy out.
    """
    if method not in _METHODS:
        raise ValueError(f"soft_nms: method must be one of {sorted(_METHODS)}, got '{method}'")
    if offset not in (0, 1):
        raise ValueError(f'soft_nms: offset must be 0 or 1, got {offset}')
    is_numpy = isinstance(boxes, np.ndarray)
    boxes_t = torch.from_numpy(boxes) if is_numpy else boxes
    scores_t = torch.from_numpy(scores) if isinstance(scores, np.ndarray) else scores
    if boxes_t.dim() != 2 or boxes_t.size(1) != 4:
        raise ValueError(f'soft_nms: boxes must be (n, 4), got {tuple(boxes_t.shape)}')
    if boxes_t.size(0) != scores_t.size(0):
        raise ValueError(f'soft_nms: {boxes_t.size(0)} boxes but {scores_t.size(0)} scores')
    dets, keep = _soft_nms_cpu(boxes_t.detach().cpu().float().numpy(),
                               scores_t.detach().cpu().float().numpy(), iou_threshold, sigma,
                               min_score, _METHODS[method], offset)
    if is_numpy:
        return dets, keep
    return (torch.from_numpy(dets).to(device=boxes_t.device, dtype=boxes_t.dtype),
            torch.from_numpy(keep).to(boxes_t.device))


def _soft_nms_cpu(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float, sigma: float,
                  min_score: float, method: int, offset: int) -> Tuple[np.ndarray, np.ndarray]:
    """The kernel on (n, 4) float32 boxes and (n,) scores; numpy keeps the per-step overhead
    small (one step per kept box). Arithmetic in float32 as in the C++ kernel."""
    num = boxes.shape[0]
    # columns x1, y1, x2, y2, score, area, permuted in place like the kernel's arrays
    data = np.empty((num, 6), dtype=np.float32)
    data[:, :4] = boxes
    data[:, 4] = scores
    data[:, 5] = (data[:, 2] - data[:, 0] + offset) * (data[:, 3] - data[:, 1] + offset)
    inds = np.arange(num, dtype=np.int64)
    thr = np.float32(iou_threshold)
    sigma32 = np.float32(sigma)
    min_score32 = np.float32(min_score)
    one, zero = np.float32(1), np.float32(0)
    end = num
    i = 0
    while i < end:
        # pick: the first maximum among the remaining slots, swapped into slot i
        best = i + int(np.argmax(data[i:end, 4]))
        if best != i:
            data[[i, best]] = data[[best, i]]
            inds[[i, best]] = inds[[best, i]]
        if i + 1 < end:
            box = data[i]
            rest = data[i + 1:end]
            w = np.maximum(zero, np.minimum(box[2], rest[:, 2]) - np.maximum(box[0], rest[:, 0]) +
                           np.float32(offset))
            h = np.maximum(zero, np.minimum(box[3], rest[:, 3]) - np.maximum(box[1], rest[:, 1]) +
                           np.float32(offset))
            inter = w * h
            # zero-area pairs give 0 / 0 = nan, as in the kernel
            with np.errstate(invalid='ignore', divide='ignore'):
                ovr = inter / (box[5] + rest[:, 5] - inter)
            if method == 1:
                weight = np.where(ovr >= thr, one - ovr, one)
            elif method == 2:
                # exponent in float32 as the kernel; exp in float64 rounded once (the C
                # library's float exp is within half an ulp of that, so scores may differ
                # from mmcv's by one ulp)
                weight = np.exp((-(ovr * ovr) / sigma32).astype(np.float64)).astype(np.float32)
            else:
                weight = np.where(ovr >= thr, zero, one)
            rest[:, 4] *= weight
            dropped = rest[:, 4] < min_score32
            if dropped.any():
                order = _compact_order(dropped) + (i + 1)
                new_end = i + 1 + order.size
                data[i + 1:new_end] = data[order]
                inds[i + 1:new_end] = inds[order]
                end = new_end
        i += 1
    # the picked rows hold their score at the time they were picked
    return data[:end, :5].copy(), inds[:end].copy()


def batched_soft_nms(boxes: Tensor, scores: Tensor, idxs: Tensor, nms_cfg: Dict,
                     class_agnostic: bool = False) -> Tuple[Tensor, Tensor]:
    """Soft-NMS within each category (``idxs``), as mmcv's ``batched_nms`` runs
    ``type='soft_nms'``.

    Boxes are shifted by ``idx * (max coordinate + 1)`` so that categories never overlap and
    one soft-NMS runs over all of them; above ``split_thr`` boxes it runs category by
    category and the survivors are sorted by their decayed scores.

    Args:
        boxes: (n, 4) xyxy boxes.
        scores: (n,) scores.
        idxs: (n,) category of each box.
        nms_cfg: the keys of :func:`soft_nms` (``iou_threshold`` (or the deprecated
            ``iou_thr``), ``sigma``, ``min_score``, ``method``, ``offset``) plus ``split_thr``
            (default 10000) and ``max_num`` (keep at most this many; all if <= 0); without
            ``type`` and ``class_agnostic``. Not modified.
        class_agnostic: ignore ``idxs``.

    Returns:
        dets (k, 5) ``[x1, y1, x2, y2, decayed score]`` (the given boxes, not shifted), sorted
        by decreasing score, and keep (k,) their indices.
    """
    cfg = dict(nms_cfg)
    if 'iou_thr' in cfg:
        cfg['iou_threshold'] = cfg.pop('iou_thr')
    split_thr = cfg.pop('split_thr', 10000)
    max_num = cfg.pop('max_num', -1)
    unknown = set(cfg) - {'iou_threshold', 'sigma', 'min_score', 'method', 'offset'}
    if unknown:
        raise KeyError(f'batched_nms: unknown soft_nms keys {sorted(unknown)}; known are type, '
                       'iou_threshold, sigma, min_score, method, offset, split_thr, max_num, '
                       'class_agnostic')
    if boxes.numel() == 0:
        return boxes.new_zeros((0, 5)), idxs.new_zeros((0, ), dtype=torch.long)
    if class_agnostic:
        boxes_for_nms = boxes
    else:
        offsets = idxs.to(boxes) * (boxes.max() + torch.tensor(1).to(boxes))
        boxes_for_nms = boxes + offsets[:, None]
    if boxes_for_nms.shape[0] < split_thr:
        dets, keep = soft_nms(boxes_for_nms, scores, **cfg)
        kept_scores = dets[:, -1]
    else:
        kept = torch.zeros_like(scores, dtype=torch.bool)
        decayed = scores.new_zeros(scores.size())
        for cat_id in torch.unique(idxs):
            mask = torch.nonzero(idxs == cat_id, as_tuple=False).view(-1)
            dets, keep = soft_nms(boxes_for_nms[mask], scores[mask], **cfg)
            kept[mask[keep]] = True
            decayed[mask[keep]] = dets[:, -1].to(decayed.dtype)
        keep = torch.nonzero(kept, as_tuple=False).view(-1)
        kept_scores, order = decayed[keep].sort(descending=True)
        keep = keep[order]
    if max_num > 0:
        keep, kept_scores = keep[:max_num], kept_scores[:max_num]
    return torch.cat([boxes[keep], kept_scores[:, None].to(boxes.dtype)], dim=-1), keep
