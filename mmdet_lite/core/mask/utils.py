"""Mask helpers: RLE-encode mask results, masks to ndarray, split batched polygons."""
from typing import List, Sequence, Tuple, Union

import numpy as np
import pycocotools.mask as mask_utils
import torch

from .structures import BaseInstanceMasks


def encode_masks(masks: Sequence) -> List[dict]:
    """COCO RLE of each (H, W) mask, all of one size, by one ``pycocotools.mask.encode`` call.

    pycocotools reads an (H, W, n) Fortran array. Transposing whole masks into it costs more
    than the encoding, so only each mask's non-zero extent is copied into a zeroed array; the
    RLEs equal those of per-mask calls. Masks: bool / uint8 arrays or CPU Tensors.
    """
    if not len(masks):
        return []
    height, width = np.shape(masks[0])
    stack = np.zeros((len(masks), width, height), dtype=np.uint8)   # (n, W, H) C order
    for i, mask in enumerate(masks):
        mask = np.asarray(mask)
        if mask.shape != (height, width):
            raise ValueError(f'encode_masks: mask {i} is {mask.shape}, the first is '
                             f'{(height, width)}; encode masks of one image (one size) together')
        rows = np.flatnonzero(mask.any(axis=1))
        if not rows.size:
            continue
        y0, y1 = rows[0], rows[-1] + 1
        cols = np.flatnonzero(mask[y0:y1].any(axis=0))
        x0, x1 = cols[0], cols[-1] + 1
        stack[i, x0:x1, y0:y1] = mask[y0:y1, x0:x1].T
    return mask_utils.encode(stack.transpose(2, 1, 0))              # (H, W, n) Fortran order


def encode_mask_results(mask_results: Union[Sequence, Tuple]) -> Union[List, Tuple]:
    """RLE-encode one image's ``segm_results`` (a list over classes of lists of (H, W) masks).

    A ``(segms, mask_scores)`` tuple (mask scoring heads) keeps its scores unchanged.
    Returns a list over classes of lists of COCO RLE dicts. All masks of a size are encoded by
    one :func:`encode_masks` call.
    """
    if isinstance(mask_results, tuple):
        cls_segms, cls_mask_scores = mask_results
    else:
        cls_segms, cls_mask_scores = mask_results, None
    by_size = {}
    for label, segms in enumerate(cls_segms):
        for i, segm in enumerate(segms):
            by_size.setdefault(np.shape(segm), []).append((label, i, segm))
    encoded = [[None] * len(segms) for segms in cls_segms]
    for items in by_size.values():
        for (label, i, _), rle in zip(items, encode_masks([segm for _, _, segm in items])):
            encoded[label][i] = rle
    if cls_mask_scores is not None:
        return encoded, cls_mask_scores
    return encoded


def mask2ndarray(mask) -> np.ndarray:
    """``BitmapMasks``/``PolygonMasks``/Tensor/ndarray masks as an ndarray (N, H, W)."""
    if isinstance(mask, BaseInstanceMasks):
        return mask.to_ndarray()
    if isinstance(mask, torch.Tensor):
        return mask.detach().cpu().numpy()
    if isinstance(mask, np.ndarray):
        return mask
    raise TypeError(f'mask2ndarray: unsupported mask type {type(mask).__name__}; expected '
                    f'BitmapMasks, PolygonMasks, Tensor or ndarray')


def split_combined_polys(polys: Sequence, poly_lens: Sequence, polys_per_mask: Sequence) -> List:
    """Split per-image concatenated polygons back into objects (2.x batched-polygon format).

    Args:
        polys: per image, a 1-D array of all polygon coordinates.
        poly_lens: per image, the length of each polygon.
        polys_per_mask: per image, how many polygons each object has.
    Returns:
        per image, a list of objects, each a list of 1-D coordinate arrays.
    """
    out = []
    for img_polys, lens, per_mask in zip(polys, poly_lens, polys_per_mask):
        parts = np.split(np.asarray(img_polys), np.cumsum(np.asarray(lens, dtype=np.int64))[:-1])
        bounds = np.cumsum(np.asarray(per_mask, dtype=np.int64))
        starts = np.concatenate([[0], bounds[:-1]])
        out.append([list(parts[s:e]) for s, e in zip(starts, bounds)])
    return out


def mask2bbox(masks: torch.Tensor) -> torch.Tensor:
    """Tight xyxy boxes (n, 4) float32 of binary masks (n, H, W); zeros for an empty mask."""
    boxes = masks.new_zeros((masks.shape[0], 4), dtype=torch.float32)
    cols, rows = masks.any(dim=1), masks.any(dim=2)  # (n, W), (n, H)
    for i in range(masks.shape[0]):
        xs, ys = torch.where(cols[i])[0], torch.where(rows[i])[0]
        if len(xs) and len(ys):
            boxes[i] = boxes.new_tensor([xs[0], ys[0], xs[-1] + 1, ys[-1] + 1])
    return boxes
