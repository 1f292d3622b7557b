"""Which labels and masks belong to which boxes in a pipeline's ``results`` (2.x convention).

``gt_bboxes`` pairs with ``gt_labels`` and ``gt_masks``; ``gt_bboxes_ignore`` with
``gt_labels_ignore`` and ``gt_masks_ignore``. A transform that drops boxes drops the paired
labels and masks with the same index, so the three stay aligned.
"""
from typing import Tuple

import numpy as np
from ...core.utils.errors import ConfigValueError

BBOX2LABEL = {'gt_bboxes': 'gt_labels', 'gt_bboxes_ignore': 'gt_labels_ignore'}
BBOX2MASK = {'gt_bboxes': 'gt_masks', 'gt_bboxes_ignore': 'gt_masks_ignore'}


def keep_instances(results: dict, bbox_key: str, keep: np.ndarray) -> None:
    """Index ``results[bbox_key]`` and its paired labels and masks by ``keep`` in place.

    Args:
        results: the pipeline dict.
        bbox_key: a key of ``results['bbox_fields']``.
        keep: bool (n,) or int indices into the n boxes.
    """
    inds = np.nonzero(keep)[0] if np.asarray(keep).dtype == bool else np.asarray(keep, np.int64)
    results[bbox_key] = results[bbox_key][inds]
    label_key = BBOX2LABEL.get(bbox_key)
    if label_key in results:
        results[label_key] = results[label_key][inds]
    mask_key = BBOX2MASK.get(bbox_key)
    if mask_key in results and results[mask_key] is not None:
        results[mask_key] = results[mask_key][inds]


def clip_bboxes(bboxes: np.ndarray, img_hw: Tuple[int, int]) -> np.ndarray:
    """xyxy boxes (n, 4) clipped to an image of (h, w); returns a new array."""
    out = bboxes.copy()
    out[:, 0::2] = np.clip(out[:, 0::2], 0, img_hw[1])
    out[:, 1::2] = np.clip(out[:, 1::2], 0, img_hw[0])
    return out


def non_degenerate(bboxes: np.ndarray, min_size: float = 0) -> np.ndarray:
    """bool (n,): width and height both larger than ``min_size``."""
    return ((bboxes[:, 2] - bboxes[:, 0]) > min_size) & ((bboxes[:, 3] - bboxes[:, 1]) > min_size)


def find_inside_bboxes(bboxes: np.ndarray, img_h: int, img_w: int) -> np.ndarray:
    """bool (n,): boxes that overlap the image ``[0, img_w] x [0, img_h]`` at all."""
    return ((bboxes[:, 0] < img_w) & (bboxes[:, 2] > 0)
            & (bboxes[:, 1] < img_h) & (bboxes[:, 3] > 0))


def centers_inside(bboxes: np.ndarray, patch: np.ndarray) -> np.ndarray:
    """bool (n,): box centres strictly inside ``patch`` (x1, y1, x2, y2)."""
    cx = (bboxes[:, 0] + bboxes[:, 2]) / 2
    cy = (bboxes[:, 1] + bboxes[:, 3]) / 2
    return (cx > patch[0]) & (cy > patch[1]) & (cx < patch[2]) & (cy < patch[3])


def single_image(results: dict, transform: str) -> np.ndarray:
    """``results['img']``, refusing pipelines with several image fields (2.x restriction)."""
    fields = results.get('img_fields', ['img'])
    if list(fields) != ['img']:
        raise ConfigValueError(f'{transform} handles a single image field, got img_fields={fields}')
    return results['img']


def require_boxes_only(results: dict, transform: str) -> None:
    """Refuse masks and segmentation maps in a transform that only moves boxes (as in 2.x)."""
    if results.get('mask_fields') or results.get('seg_fields'):
        raise ValueError(f'{transform} handles boxes only (as in 2.x); remove with_mask/with_seg '
                         'from LoadAnnotations, or use CopyPaste for instance masks')


def keep_box_candidates(before: np.ndarray, after: np.ndarray, min_bbox_size: float,
                        min_area_ratio: float, max_aspect_ratio: float) -> np.ndarray:
    """bool (n,): boxes (n, 4) still large enough after an augmentation (YOLOX's rule):
    sides > ``min_bbox_size``, area kept above ``min_area_ratio``, aspect ratio below
    ``max_aspect_ratio``."""
    w1, h1 = before[:, 2] - before[:, 0], before[:, 3] - before[:, 1]
    w2, h2 = after[:, 2] - after[:, 0], after[:, 3] - after[:, 1]
    aspect = np.maximum(w2 / (h2 + 1e-16), h2 / (w2 + 1e-16))
    return ((w2 > min_bbox_size) & (h2 > min_bbox_size)
            & (w2 * h2 / (w1 * h1 + 1e-16) > min_area_ratio) & (aspect < max_aspect_ratio))
