"""VOC-style mean average precision (mmdetection 2.x ``eval_map``), area or 11-point."""
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np
from mmengine.logging import print_log
from terminaltables import AsciiTable

from .bbox_overlaps import bbox_overlaps
from .class_names import get_classes


def average_precision(recalls: np.ndarray, precisions: np.ndarray,
                      mode: str = 'area') -> Union[float, np.ndarray]:
    """AP from a recall/precision curve: (n,) -> float or (s, n) -> (s,).

    'area': area under the monotone (right-max) precision envelope;
    '11points': mean of the max precision at recall >= 0, 0.1, ..., 1.
    """
    if mode not in ('area', '11points'):
        raise ValueError(f"average_precision mode must be 'area' or '11points', got {mode!r}")
    single = recalls.ndim == 1
    recalls = np.atleast_2d(recalls)
    precisions = np.atleast_2d(precisions)
    ap = np.zeros(recalls.shape[0], dtype=np.float32)
    for s in range(recalls.shape[0]):
        if mode == 'area':
            mrec = np.concatenate([[0.0], recalls[s], [1.0]])
            mpre = np.concatenate([[0.0], precisions[s], [0.0]])
            mpre = np.maximum.accumulate(mpre[::-1])[::-1]
            steps = np.where(mrec[1:] != mrec[:-1])[0]
            ap[s] = np.sum((mrec[steps + 1] - mrec[steps]) * mpre[steps + 1])
        else:
            for thr in np.arange(0, 1 + 1e-3, 0.1):
                above = precisions[s, recalls[s] >= thr]
                ap[s] += above.max() if above.size else 0.0
            ap[s] /= 11
    return ap[0] if single else ap


def _areas(boxes: np.ndarray, extra: float) -> np.ndarray:
    return (boxes[:, 2] - boxes[:, 0] + extra) * (boxes[:, 3] - boxes[:, 1] + extra)


def tpfp_default(det_bboxes: np.ndarray, gt_bboxes: np.ndarray,
                 gt_bboxes_ignore: Optional[np.ndarray] = None, iou_thr: float = 0.5,
                 area_ranges: Optional[List[Tuple[float, float]]] = None,
                 use_legacy_coordinate: bool = False) -> Tuple[np.ndarray, np.ndarray]:
    """Of one image and class: true/false-positive flags (scales, n_det) of each detection.

    A detection matching an ignored GT (or a GT outside the area range) counts as neither.
    """
    extra = 1.0 if use_legacy_coordinate else 0.0
    if gt_bboxes_ignore is None:
        gt_bboxes_ignore = np.zeros((0, 4), dtype=np.float32)
    is_ignore = np.concatenate([np.zeros(len(gt_bboxes), bool), np.ones(len(gt_bboxes_ignore), bool)])
    gts = np.vstack([gt_bboxes.reshape(-1, 4), gt_bboxes_ignore.reshape(-1, 4)])
    ranges = area_ranges if area_ranges is not None else [(None, None)]
    tp = np.zeros((len(ranges), len(det_bboxes)), dtype=np.float32)
    fp = np.zeros_like(tp)
    if len(det_bboxes) == 0:
        return tp, fp
    det_areas = _areas(det_bboxes, extra)
    if len(gts) == 0:
        for k, (lo, hi) in enumerate(ranges):
            fp[k] = 1 if lo is None else ((det_areas >= lo) & (det_areas < hi))
        return tp, fp
    ious = bbox_overlaps(det_bboxes, gts, use_legacy_coordinate=use_legacy_coordinate)
    best_iou, best_gt = ious.max(axis=1), ious.argmax(axis=1)
    order = np.argsort(-det_bboxes[:, -1], kind='stable')
    gt_areas = _areas(gts, extra)
    for k, (lo, hi) in enumerate(ranges):
        covered = np.zeros(len(gts), bool)
        out_of_range = (np.zeros(len(gts), bool) if lo is None else
                        (gt_areas < lo) | (gt_areas >= hi))
        for i in order:
            if best_iou[i] >= iou_thr:
                g = best_gt[i]
                if is_ignore[g] or out_of_range[g]:
                    continue
                if covered[g]:
                    fp[k, i] = 1
                else:
                    covered[g] = True
                    tp[k, i] = 1
            elif lo is None or lo <= det_areas[i] < hi:
                fp[k, i] = 1
    return tp, fp


def get_cls_results(det_results: List[List[np.ndarray]], annotations: List[dict],
                    class_id: int) -> Tuple[List[np.ndarray], List[np.ndarray], List[np.ndarray]]:
    """Per image: the detections, GT boxes and ignored GT boxes of one class.

    Detections are (n, 5) ``[x1, y1, x2, y2, score]``; (n, 4) boxes without scores are kept as
    they are (2.x accepted them: :func:`eval_map` then ranks them by their last column).
    """
    dets = []
    for res in det_results:
        det = np.asarray(res[class_id], dtype=np.float32)
        dets.append(det if det.ndim == 2 and det.shape[1] in (4, 5) else det.reshape(-1, 5))
    gts, ignores = [], []
    for ann in annotations:
        gts.append(np.asarray(ann['bboxes'], np.float32).reshape(-1, 4)[ann['labels'] == class_id])
        if ann.get('labels_ignore') is not None:
            ignores.append(np.asarray(ann['bboxes_ignore'], np.float32).reshape(-1, 4)[
                ann['labels_ignore'] == class_id])
        else:
            ignores.append(np.zeros((0, 4), dtype=np.float32))
    return dets, gts, ignores


def eval_map(det_results: List[List[np.ndarray]], annotations: List[dict],
             scale_ranges: Optional[List[Tuple[float, float]]] = None, iou_thr: float = 0.5,
             dataset: Union[None, str, Sequence[str]] = None, logger=None, tpfp_fn=None,
             nproc: int = 4, use_legacy_coordinate: bool = False,
             eval_mode: Optional[str] = None) -> Tuple[Union[float, List[float]], List[dict]]:
    """Mean AP over classes that have GT.

    Args:
        det_results: per image, per class, ndarray (n, 5) [x1, y1, x2, y2, score].
        annotations: per image, dict with ``bboxes`` (k, 4), ``labels`` (k,) and optionally
            ``bboxes_ignore`` (m, 4), ``labels_ignore`` (m,).
        scale_ranges: optional (min, max) box-side ranges; AP is then computed per range.
        dataset: 'voc07' selects 11-point AP (as 2.x); class names for the table.
        eval_mode: 'area' or '11points'; overrides the choice made from ``dataset``.
        nproc: kept for 2.x signature compatibility; evaluation runs in this process.
    Returns:
        (mean_ap, per-class dicts with num_gts, num_dets, recall, precision, ap).
    """
    if len(det_results) != len(annotations):
        raise ValueError(f'eval_map: {len(det_results)} detection results but '
                         f'{len(annotations)} annotations')
    mode = eval_mode or ('11points' if dataset == 'voc07' else 'area')
    tpfp_fn = tpfp_fn or tpfp_default
    extra = 1.0 if use_legacy_coordinate else 0.0
    area_ranges = ([(lo**2, hi**2) for lo, hi in scale_ranges]
                   if scale_ranges is not None else None)
    num_scales = len(scale_ranges) if scale_ranges is not None else 1
    num_classes = len(det_results[0]) if det_results else 0
    eps = np.finfo(np.float32).eps
    eval_results = []
    for c in range(num_classes):
        dets, gts, ignores = get_cls_results(det_results, annotations, c)
        flags = [tpfp_fn(d, g, ig, iou_thr, area_ranges, use_legacy_coordinate)
                 for d, g, ig in zip(dets, gts, ignores)]
        num_gts = np.zeros(num_scales, dtype=int)
        for g in gts:
            if area_ranges is None:
                num_gts[0] += len(g)
            else:
                areas = _areas(g, extra)
                for k, (lo, hi) in enumerate(area_ranges):
                    num_gts[k] += np.sum((areas >= lo) & (areas < hi))
        width = next((d.shape[1] for d in dets if len(d)), 5)
        all_dets = np.vstack([d if len(d) else np.zeros((0, width), np.float32) for d in dets]) \
            if dets else np.zeros((0, 5), np.float32)
        order = np.argsort(-all_dets[:, -1], kind='stable')
        tp = np.cumsum(np.hstack([f[0] for f in flags])[:, order], axis=1) if flags else \
            np.zeros((num_scales, 0))
        fp = np.cumsum(np.hstack([f[1] for f in flags])[:, order], axis=1) if flags else \
            np.zeros((num_scales, 0))
        recalls = tp / np.maximum(num_gts[:, None], eps)
        precisions = tp / np.maximum(tp + fp, eps)
        if scale_ranges is None:
            recalls, precisions, num_gts = recalls[0], precisions[0], int(num_gts[0])
        eval_results.append(dict(num_gts=num_gts, num_dets=len(all_dets), recall=recalls,
                                 precision=precisions,
                                 ap=average_precision(recalls, precisions, mode)))
    if scale_ranges is not None:
        all_ap = np.vstack([r['ap'] for r in eval_results]) if eval_results else \
            np.zeros((0, num_scales))
        all_gts = np.vstack([r['num_gts'] for r in eval_results]) if eval_results else \
            np.zeros((0, num_scales))
        mean_ap = [float(all_ap[all_gts[:, s] > 0, s].mean()) if np.any(all_gts[:, s] > 0)
                   else 0.0 for s in range(num_scales)]
    else:
        aps = [r['ap'] for r in eval_results if r['num_gts'] > 0]
        mean_ap = float(np.mean(aps)) if aps else 0.0
    print_map_summary(mean_ap, eval_results, dataset, area_ranges, logger=logger)
    return mean_ap, eval_results


def print_map_summary(mean_ap, results: List[dict], dataset=None, scale_ranges=None,
                      logger=None) -> None:
    """Log a per-class table (gts, dets, recall, ap) and the mAP."""
    if logger == 'silent' or not results:
        return
    if dataset is None:
        names = [str(i) for i in range(len(results))]
    elif isinstance(dataset, str):
        names = get_classes(dataset)
    else:
        names = list(dataset)
    num_scales = len(results[0]['ap']) if isinstance(results[0]['ap'], np.ndarray) else 1
    mean_aps = mean_ap if isinstance(mean_ap, list) else [mean_ap]
    for s in range(num_scales):
        rows = [['class', 'gts', 'dets', 'recall', 'ap']]
        for name, r in zip(names, results):
            recall = np.atleast_2d(r['recall'])
            gts = np.atleast_1d(r['num_gts'])[s]
            rec = recall[s, -1] if recall.shape[1] else 0.0
            ap = np.atleast_1d(r['ap'])[s]
            rows.append([name, int(gts), r['num_dets'], f'{rec:.3f}', f'{ap:.3f}'])
        rows.append(['mAP', '', '', '', f'{mean_aps[s]:.3f}'])
        table = AsciiTable(rows)
        table.inner_footing_row_border = True
        header = f'Scale range {scale_ranges[s]}\n' if scale_ranges is not None else ''
        print_log('\n' + header + table.table, logger=logger)
