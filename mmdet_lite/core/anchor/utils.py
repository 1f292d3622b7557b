"""Anchor helpers: per-image targets to per-level targets, anchors inside the image."""
from typing import List, Sequence

import torch
from torch import Tensor


def images_to_levels(target: Sequence[Tensor], num_levels: Sequence[int]) -> List[Tensor]:
    """Regroup per-image targets into per-level targets.

    Args:
        target: per image a (sum(num_levels), ...) tensor.
        num_levels: number of anchors of each level.

    Returns:
        per level an (N, num_levels[i], ...) tensor.
    """
    target = torch.stack(target, 0)
    level_targets = []
    start = 0
    for n in num_levels:
        end = start + n
        level_targets.append(target[:, start:end])
        start = end
    return level_targets


def anchor_inside_flags(flat_anchors: Tensor, valid_flags: Tensor, img_shape: Sequence[int],
                        allowed_border: int = 0) -> Tensor:
    """(n,) flags of the anchors that are valid and lie inside the image.

    Args:
        flat_anchors: (n, 4) anchors of all levels.
        valid_flags: (n,) bool flags from ``AnchorGenerator.valid_flags``.
        img_shape: (h, w[, c]) of the (unpadded) image.
        allowed_border: anchors may stick out of the image by this much; a negative value
            keeps all valid anchors.
    """
    img_h, img_w = img_shape[:2]
    if allowed_border >= 0:
        return (valid_flags & (flat_anchors[:, 0] >= -allowed_border)
                & (flat_anchors[:, 1] >= -allowed_border)
                & (flat_anchors[:, 2] < img_w + allowed_border)
                & (flat_anchors[:, 3] < img_h + allowed_border))
    return valid_flags


def calc_region(bbox: Tensor, ratio: float, featmap_size=None) -> tuple:
    """(x1, y1, x2, y2) of the central ``ratio`` part of a (4,) box, clamped to featmap_size."""
    x1 = torch.round((1 - ratio) * bbox[0] + ratio * bbox[2]).long()
    y1 = torch.round((1 - ratio) * bbox[1] + ratio * bbox[3]).long()
    x2 = torch.round(ratio * bbox[0] + (1 - ratio) * bbox[2]).long()
    y2 = torch.round(ratio * bbox[1] + (1 - ratio) * bbox[3]).long()
    if featmap_size is not None:
        x1 = x1.clamp(min=0, max=featmap_size[1])
        y1 = y1.clamp(min=0, max=featmap_size[0])
        x2 = x2.clamp(min=0, max=featmap_size[1])
        y2 = y2.clamp(min=0, max=featmap_size[0])
    return (x1, y1, x2, y2)
