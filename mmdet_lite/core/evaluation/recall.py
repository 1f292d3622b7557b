"""Proposal recall at several proposal counts and IoU thresholds (mmdetection 2.x ``eval_recalls``)."""
from typing import List, Sequence, Union

import numpy as np
from mmengine.logging import print_log
from terminaltables import AsciiTable

from .bbox_overlaps import bbox_overlaps


def _as_array(values, default) -> np.ndarray:
    if values is None:
        values = default
    return np.array([values] if np.isscalar(values) else list(values))


def _greedy_matched_ious(ious: np.ndarray) -> np.ndarray:
    """Of one image: match GTs to proposals greedily by highest IoU; IoU per GT (g,)."""
    ious = ious.copy()
    out = np.zeros(ious.shape[0])
    if ious.size == 0:
        return out
    for j in range(ious.shape[0]):
        best_box = ious.argmax(axis=1)
        best_iou = ious[np.arange(ious.shape[0]), best_box]
        gt_idx = best_iou.argmax()
        out[j] = best_iou[gt_idx]
        ious[gt_idx, :] = -1
        ious[:, best_box[gt_idx]] = -1
    return out


def eval_recalls(gts: List[np.ndarray], proposals: List[np.ndarray],
                 proposal_nums: Union[int, Sequence[int], None] = None,
                 iou_thrs: Union[float, Sequence[float], None] = 0.5, logger=None,
                 use_legacy_coordinate: bool = False) -> np.ndarray:
    """Recall (len(proposal_nums), len(iou_thrs)) of ``proposals`` (per image (n, 4|5)) vs ``gts``.

    Proposals with scores are sorted by score first; only the first ``proposal_num`` count.
    """
    if len(gts) != len(proposals):
        raise ValueError(f'eval_recalls: {len(gts)} images of GT but {len(proposals)} of proposals')
    nums = _as_array(proposal_nums, [100, 300, 1000]).astype(np.int64)
    thrs = _as_array(iou_thrs, 0.5).astype(np.float64)
    per_image_ious = []
    for gt, props in zip(gts, proposals):
        props = np.asarray(props, dtype=np.float32)
        if props.size == 0:
            props = np.zeros((0, 4), dtype=np.float32)
        if props.ndim == 2 and props.shape[1] == 5:
            props = props[np.argsort(-props[:, 4], kind='stable')]
        props = props[:int(nums.max())]
        gt = np.zeros((0, 4), np.float32) if gt is None else np.asarray(gt)
        per_image_ious.append(bbox_overlaps(gt, props[:, :4],
                                            use_legacy_coordinate=use_legacy_coordinate))
    total_gts = sum(ious.shape[0] for ious in per_image_ious)
    recalls = np.zeros((len(nums), len(thrs)))
    if total_gts == 0:
        print_log('eval_recalls: there is no ground-truth box; recall is 0.', logger=logger)
        return recalls
    for k, num in enumerate(nums):
        matched = np.concatenate([_greedy_matched_ious(ious[:, :num]) for ious in per_image_ious])
        for t, thr in enumerate(thrs):
            recalls[k, t] = (matched >= thr).sum() / float(total_gts)
    print_recall_summary(recalls, nums, thrs, logger=logger)
    return recalls


def print_recall_summary(recalls: np.ndarray, proposal_nums: Sequence[int],
                         iou_thrs: Sequence[float], logger=None) -> None:
    """Log a table: rows = proposal counts, columns = IoU thresholds."""
    if logger == 'silent':
        return
    rows = [[''] + [f'{float(t):.2f}' for t in iou_thrs]]
    for i, num in enumerate(proposal_nums):
        rows.append([str(int(num))] + [f'{v:.3f}' for v in recalls[i]])
    print_log('\n' + AsciiTable(rows).table, logger=logger)
