"""Gaussian heat-map targets and heat-map decoding of the keypoint detectors (CenterNet,
CornerNet), as mmdetection 2.x's ``models/utils/gaussian_target.py``.

Shapes: ``B`` images, ``C`` heat-map channels (classes), ``H x W`` heat map, ``k`` top points.
"""
from math import sqrt
from typing import Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor


def gaussian2D(radius: int, sigma: float = 1, dtype: torch.dtype = torch.float32,
               device: torch.device = 'cpu') -> Tensor:
    """A (2r + 1, 2r + 1) Gaussian exp(-(x^2 + y^2) / (2 sigma^2)) with 1 at the centre;
    values below float eps x max are set to 0."""
    x = torch.arange(-radius, radius + 1, dtype=dtype, device=device).view(1, -1)
    y = torch.arange(-radius, radius + 1, dtype=dtype, device=device).view(-1, 1)
    h = (-(x * x + y * y) / (2 * sigma * sigma)).exp()
    h[h < torch.finfo(h.dtype).eps * h.max()] = 0
    return h


def gen_gaussian_target(heatmap: Tensor, center: Sequence[int], radius: int,
                        k: float = 1) -> Tensor:
    """Draw a Gaussian of ``radius`` (sigma = diameter / 6, times ``k``) at integer ``center``
    (x, y) into the (H, W) ``heatmap`` in place, keeping the element-wise maximum; returns it."""
    diameter = 2 * radius + 1
    gaussian_kernel = gaussian2D(radius, sigma=diameter / 6, dtype=heatmap.dtype,
                                 device=heatmap.device)
    x, y = center
    height, width = heatmap.shape[:2]
    left, right = min(x, radius), min(width - x, radius + 1)
    top, bottom = min(y, radius), min(height - y, radius + 1)
    region = heatmap[y - top:y + bottom, x - left:x + right]
    kernel = gaussian_kernel[radius - top:radius + bottom, radius - left:radius + right]
    torch.max(region, kernel * k, out=heatmap[y - top:y + bottom, x - left:x + right])
    return heatmap


def gaussian_radius(det_size: Sequence[float], min_overlap: float) -> float:
    """Radius r such that corners moved by up to r still give a box of IoU >= ``min_overlap``
    with the (h, w) ``det_size`` box: the smallest root of CornerNet's three cases (one corner
    inside and one outside the box, both inside, both outside). The first case keeps the
    original code's coefficients (b = h + w rather than -(h + w)), as 2.x does."""
    height, width = det_size
    a1 = 1
    b1 = height + width
    c1 = width * height * (1 - min_overlap) / (1 + min_overlap)
    r1 = (b1 - sqrt(b1 ** 2 - 4 * a1 * c1)) / (2 * a1)
    a2 = 4
    b2 = 2 * (height + width)
    c2 = (1 - min_overlap) * width * height
    r2 = (b2 - sqrt(b2 ** 2 - 4 * a2 * c2)) / (2 * a2)
    a3 = 4 * min_overlap
    b3 = -2 * min_overlap * (height + width)
    c3 = (min_overlap - 1) * width * height
    r3 = (b3 + sqrt(b3 ** 2 - 4 * a3 * c3)) / (2 * a3)
    return min(r1, r2, r3)


def get_local_maximum(heat: Tensor, kernel: int = 3) -> Tensor:
    """(B, C, H, W) heat map with every value that is not the maximum of its ``kernel`` x
    ``kernel`` neighbourhood set to 0 (max-pool NMS)."""
    pad = (kernel - 1) // 2
    hmax = F.max_pool2d(heat, kernel, stride=1, padding=pad)
    return heat * (hmax == heat).float()


def get_topk_from_heatmap(scores: Tensor, k: int = 20
                          ) -> Tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    """The k best points of each image's (C, H, W) heat map: scores (B, k), indices in the
    H * W map (B, k), classes (B, k), ys (B, k) integer and xs (B, k) float."""
    batch, _, height, width = scores.size()
    topk_scores, topk_inds = torch.topk(scores.view(batch, -1), k)
    topk_clses = topk_inds // (height * width)
    topk_inds = topk_inds % (height * width)
    topk_ys = topk_inds // width
    topk_xs = (topk_inds % width).int().float()
    return topk_scores, topk_inds, topk_clses, topk_ys, topk_xs


def gather_feat(feat: Tensor, ind: Tensor, mask: Optional[Tensor] = None) -> Tensor:
    """Rows ``ind`` (B, k) of ``feat`` (B, N, D) → (B, k, D) (or the masked rows (m, D))."""
    dim = feat.size(2)
    feat = feat.gather(1, ind.unsqueeze(2).repeat(1, 1, dim))
    if mask is not None:
        feat = feat[mask.unsqueeze(2).expand_as(feat)].view(-1, dim)
    return feat


def transpose_and_gather_feat(feat: Tensor, ind: Tensor) -> Tensor:
    """Values of the (B, D, H, W) map at the flat H * W indices ``ind`` (B, k) → (B, k, D)."""
    feat = feat.permute(0, 2, 3, 1).contiguous()
    return gather_feat(feat.view(feat.size(0), -1, feat.size(3)), ind)
