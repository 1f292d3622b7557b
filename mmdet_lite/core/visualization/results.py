"""Unpack detection results (docs/conventions.md §3) into flat arrays for drawing and analysis.

Shapes: ``n`` detections of one image, ``H``/``W`` the original image size.
"""
from typing import Any, List, Optional, Tuple

import numpy as np
import torch


def _as_numpy(x: Any) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def _decode_mask(mask: Any) -> np.ndarray:
    """One mask (H, W): an array, a Tensor or a COCO RLE dict (``encode_mask_results``)."""
    if isinstance(mask, dict):
        from pycocotools import mask as mask_util
        rle = dict(mask)
        if isinstance(rle.get('counts'), str):
            rle['counts'] = rle['counts'].encode('ascii')
        return mask_util.decode(rle).astype(bool)
    return _as_numpy(mask).astype(bool)


def unpack_det_result(result: Any) -> Tuple[np.ndarray, np.ndarray, Optional[np.ndarray]]:
    """Flatten the result of one image.

    Args:
        result: ``bbox_results`` (list over classes of (n_c, 5) arrays), the pair
            ``(bbox_results, segm_results)`` (``segm_results[c]`` lists n_c masks (H, W) or
            RLE dicts), or an RPN result: one (n, 5) array of proposals (all labelled 0).

    Returns:
        ``bboxes`` float32 (n, 5) ``[x1, y1, x2, y2, score]``, ``labels`` int64 (n,), and
        ``segms`` bool (n, H, W), or None when the result has no masks. With masks but no
        detection, ``segms`` is a (0, 0, 0) array (the image size is not known).
    """
    if isinstance(result, tuple):
        if len(result) != 2:
            raise ValueError(f'a result tuple must be (bbox_results, segm_results), got a '
                             f'tuple of {len(result)} items')
        bbox_result, segm_result = result
        if isinstance(segm_result, tuple):  # (masks, mask scores) of mask-scoring heads
            segm_result = segm_result[0]
    else:
        bbox_result, segm_result = result, None

    if isinstance(bbox_result, (np.ndarray, torch.Tensor)):
        bboxes = _as_numpy(bbox_result).astype(np.float32).reshape(-1, 5)
        return bboxes, np.zeros(len(bboxes), dtype=np.int64), None
    if not isinstance(bbox_result, (list, tuple)):
        raise TypeError(f'bbox_results must be a list over classes of (n, 5) arrays, got '
                        f'{type(bbox_result).__name__}')
    per_class = [_as_numpy(b).astype(np.float32).reshape(-1, 5) for b in bbox_result]
    if per_class:
        bboxes = np.concatenate(per_class, axis=0)
    else:
        bboxes = np.zeros((0, 5), dtype=np.float32)
    labels = np.concatenate([np.full(len(b), c, dtype=np.int64) for c, b in enumerate(per_class)]
                            ) if per_class else np.zeros(0, dtype=np.int64)
    if segm_result is None:
        return bboxes, labels, None

    if len(segm_result) != len(per_class):
        raise ValueError(f'segm_results has {len(segm_result)} classes but bbox_results has '
                         f'{len(per_class)}; they must list the same classes')
    masks: List[np.ndarray] = []
    for c, (cls_boxes, cls_masks) in enumerate(zip(per_class, segm_result)):
        if len(cls_masks) != len(cls_boxes):
            raise ValueError(f'class {c}: {len(cls_boxes)} boxes but {len(cls_masks)} masks; '
                             'segm_results[c] must hold one mask per box of bbox_results[c]')
        masks.extend(_decode_mask(m) for m in cls_masks)
    if not masks:
        return bboxes, labels, np.zeros((0, 0, 0), dtype=bool)
    return bboxes, labels, np.stack(masks, axis=0)
