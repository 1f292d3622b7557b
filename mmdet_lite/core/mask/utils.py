"""Mask helpers: RLE-encode mask results, masks to ndarray, split batched polygons."""
from typing import List, Sequence, Tuple, Union

import numpy as np
import pycocotools.mask as mask_utils
import torch

from .structures import BaseInstanceMasks


def encode_mask_results(mask_results: Union[Sequence, Tuple]) -> Union[List, Tuple]:
    """RLE-encode one image's ``segm_results`` (a list over classes of lists of (H, W) masks).

    A ``(segms, mask_scores)`` tuple (mask scoring heads) keeps its scores unchanged.
    Returns a list over classes of lists of COCO RLE dicts.
    """
    if isinstance(mask_results, tuple):
        cls_segms, cls_mask_scores = mask_results
    else:
        cls_segms, cls_mask_scores = mask_results, None
    encoded = []
    for segms in cls_segms:
        encoded.append([
            mask_utils.encode(np.asfortranarray(np.asarray(segm, dtype=np.uint8)[:, :, None]))[0]
            for segm in segms
        ])
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
