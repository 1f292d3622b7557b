"""IoU / IoF between two sets of xyxy boxes in numpy (used by the VOC mAP and recall code)."""
import numpy as np


def bbox_overlaps(bboxes1: np.ndarray, bboxes2: np.ndarray, mode: str = 'iou', eps: float = 1e-6,
                  use_legacy_coordinate: bool = False) -> np.ndarray:
    """Pairwise overlaps (n, k) of ``bboxes1`` (n, 4) and ``bboxes2`` (k, 4).

    ``mode='iof'`` divides by the area of ``bboxes1``. ``use_legacy_coordinate`` adds 1 to
    widths and heights (the VOC devkit's integer-pixel convention).
    """
    if mode not in ('iou', 'iof'):
        raise ValueError(f"bbox_overlaps mode must be 'iou' or 'iof', got {mode!r}")
    extra = 1.0 if use_legacy_coordinate else 0.0
    b1 = np.asarray(bboxes1, dtype=np.float32)[:, :4]
    b2 = np.asarray(bboxes2, dtype=np.float32)[:, :4]
    if len(b1) == 0 or len(b2) == 0:
        return np.zeros((len(b1), len(b2)), dtype=np.float32)
    area1 = (b1[:, 2] - b1[:, 0] + extra) * (b1[:, 3] - b1[:, 1] + extra)
    area2 = (b2[:, 2] - b2[:, 0] + extra) * (b2[:, 3] - b2[:, 1] + extra)
    lt = np.maximum(b1[:, None, :2], b2[None, :, :2])
    rb = np.minimum(b1[:, None, 2:], b2[None, :, 2:])
    wh = np.clip(rb - lt + extra, 0, None)
    overlap = wh[..., 0] * wh[..., 1]
    union = area1[:, None] + area2[None, :] - overlap if mode == 'iou' else area1[:, None]
    return (overlap / np.maximum(union, eps)).astype(np.float32)
