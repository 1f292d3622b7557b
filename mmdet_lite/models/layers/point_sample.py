"""Point sampling on feature maps (mmcv 1.x's ``point_sample`` and its coordinate helpers), on
``torch.nn.functional.grid_sample``.

Coordinates: *relative RoI points* lie in [0, 1] x [0, 1] inside a box (x first); *absolute
image points* are pixels of the network input; *relative image points* are in [0, 1] x [0, 1]
over a feature map (``point_sample``'s input). Shapes: ``K`` RoIs or maps, ``P`` points.
"""
from typing import Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor


def point_sample(input: Tensor, points: Tensor, align_corners: bool = False,
                 **kwargs) -> Tensor:
    """Bilinear features of ``input`` (K, C, H, W) at ``points`` (K, P, 2) or (K, Hg, Wg, 2) in
    [0, 1] x [0, 1] (zero outside) -> (K, C, P) or (K, C, Hg, Wg). ``kwargs`` go to
    ``grid_sample``."""
    add_dim = points.dim() == 3
    if add_dim:
        points = points.unsqueeze(2)
    output = F.grid_sample(input, points * 2.0 - 1.0, align_corners=align_corners, **kwargs)
    return output.squeeze(3) if add_dim else output


def generate_grid(num_grid: int, size: Tuple[int, int], device: torch.device) -> Tensor:
    """The centres of a regular ``size`` (h, w) grid in [0, 1] x [0, 1], as (num_grid, h * w, 2)
    (x, y), row-major. (The identity ``affine_grid``, so the values are mmcv's to the bit.)"""
    identity = torch.tensor([[[1., 0., 0.], [0., 1., 0.]]], device=device)
    grid = F.affine_grid(identity, torch.Size((1, 1, *size)), align_corners=False)
    return ((grid + 1.0) / 2.0).view(1, -1, 2).expand(num_grid, -1, -1)


def rel_roi_point_to_abs_img_point(rois: Tensor, rel_roi_points: Tensor) -> Tensor:
    """RoI-relative points (K, P, 2) of ``rois`` (K, 4) or (K, 5) -> image pixels (K, P, 2)
    (no gradient, as mmcv)."""
    if rois.dim() != 2 or rel_roi_points.dim() != 3 or rel_roi_points.size(2) != 2 or \
            rel_roi_points.size(0) != rois.size(0):
        raise ValueError(f'rois (K, 4 or 5) and rel_roi_points (K, P, 2) do not match: '
                         f'{tuple(rois.shape)}, {tuple(rel_roi_points.shape)}')
    with torch.no_grad():
        if rois.size(1) == 5:
            rois = rois[:, 1:]
        xs = rel_roi_points[:, :, 0] * (rois[:, None, 2] - rois[:, None, 0]) + rois[:, None, 0]
        ys = rel_roi_points[:, :, 1] * (rois[:, None, 3] - rois[:, None, 1]) + rois[:, None, 1]
        return torch.stack([xs, ys], dim=2)


def abs_img_point_to_rel_img_point(abs_img_points: Tensor, img: Union[tuple, Tensor],
                                   spatial_scale: float = 1.) -> Tensor:
    """Image pixels (K, P, 2) -> [0, 1] coordinates over a map of (h, w) ``img`` (a tuple, or a
    (N, C, h, w) tensor) whose pixels are ``spatial_scale`` of the image's."""
    if isinstance(img, tuple) and len(img) == 2:
        h, w = img
    elif isinstance(img, Tensor) and img.dim() == 4:
        h, w = img.shape[2:]
    else:
        raise ValueError('img must be (height, width) or a (N, C, H, W) tensor, got '
                         f'{img if isinstance(img, tuple) else tuple(img.shape)}')
    scale = torch.tensor([w, h], dtype=torch.float, device=abs_img_points.device).view(1, 1, 2)
    return abs_img_points / scale * spatial_scale


def rel_roi_point_to_rel_img_point(rois: Tensor, rel_roi_points: Tensor,
                                   img: Union[tuple, Tensor],
                                   spatial_scale: float = 1.) -> Tensor:
    """RoI-relative points (K, P, 2) -> [0, 1] coordinates over the map ``img`` (see
    :func:`abs_img_point_to_rel_img_point`)."""
    return abs_img_point_to_rel_img_point(
        rel_roi_point_to_abs_img_point(rois, rel_roi_points), img, spatial_scale)
