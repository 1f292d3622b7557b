"""Batch collation: pad images to the batch maximum, keep per-image annotation lists."""
from typing import Any, Dict, List, Sequence

import torch
import torch.nn.functional as F

from ..registry import FUNCTIONS


def stack_padded(imgs: Sequence[torch.Tensor], pad_value: float = 0.0,
                 size_divisor: int = 1) -> torch.Tensor:
    """Stack (C, H_i, W_i) images into (N, C, H, W), zero-padded at the bottom/right.

    H and W are the batch maxima, rounded up to a multiple of ``size_divisor``.
    """
    max_h = max(int(img.shape[-2]) for img in imgs)
    max_w = max(int(img.shape[-1]) for img in imgs)
    max_h = -(-max_h // size_divisor) * size_divisor
    max_w = -(-max_w // size_divisor) * size_divisor
    padded = [F.pad(img, (0, max_w - img.shape[-1], 0, max_h - img.shape[-2]), value=pad_value)
              for img in imgs]
    return torch.stack(padded, dim=0)


@FUNCTIONS.register_module()
def mmdet_collate(batch: List[Dict[str, Any]], size_divisor: int = 1) -> Dict[str, Any]:
    """Collate pipeline outputs (dicts made by ``Collect``) into the detector's inputs.

    Training samples (``img`` a Tensor (C, H, W)) give
    ``dict(img=Tensor (N, C, H, W), img_metas=[dict] * N, gt_bboxes=[Tensor (k_i, 4)], ...)``.
    Test samples from ``MultiScaleFlipAug`` (``img`` a list over augmentations) give
    ``dict(img=[Tensor (N, C, H, W)] * n_aug, img_metas=[[dict] * N] * n_aug)``, the 2.x
    ``forward_test`` layout. Every other key becomes a per-image list, unchanged.
    """
    if not batch:
        raise ValueError('mmdet_collate got an empty batch')
    out: Dict[str, Any] = {}
    for key in batch[0]:
        values = [sample[key] for sample in batch]
        first = values[0]
        if key == 'img' and isinstance(first, torch.Tensor):
            out[key] = stack_padded(values, size_divisor=size_divisor)
        elif key == 'img' and isinstance(first, (list, tuple)):
            out[key] = [stack_padded([v[i] for v in values], size_divisor=size_divisor)
                        for i in range(len(first))]
        elif key == 'img_metas' and isinstance(first, (list, tuple)):
            out[key] = [[v[i] for v in values] for i in range(len(first))]
        else:
            out[key] = values
    return out
