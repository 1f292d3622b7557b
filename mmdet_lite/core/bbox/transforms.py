"""Box format conversions: flips, test-time mapping, RoI packing and per-class results."""
from typing import List, Optional, Sequence, Union

import numpy as np
import torch
from torch import Tensor

from .scale_factor import scale_factor_tensor
from ...core.utils.errors import ConfigValueError

_FLIP_DIRECTIONS = ('horizontal', 'vertical', 'diagonal')


def bbox_flip(bboxes: Tensor, img_shape: Sequence[int], direction: str = 'horizontal') -> Tensor:
    """Flip xyxy boxes inside an image of shape (h, w[, c]).

    Args:
        bboxes: (..., 4 * k) boxes.
        img_shape: (h, w[, c]) of the image.
        direction: 'horizontal', 'vertical' or 'diagonal'.

    Returns:
        flipped boxes, same shape.
    """
    if bboxes.shape[-1] % 4 != 0:
        raise ValueError(f'bbox_flip: the last dim of bboxes must be a multiple of 4, got shape '
                         f'{tuple(bboxes.shape)}')
    if direction not in _FLIP_DIRECTIONS:
        raise ValueError(f"bbox_flip: direction must be one of {_FLIP_DIRECTIONS}, got "
                         f"'{direction}'")
    flipped = bboxes.clone()
    if direction in ('horizontal', 'diagonal'):
        flipped[..., 0::4] = img_shape[1] - bboxes[..., 2::4]
        flipped[..., 2::4] = img_shape[1] - bboxes[..., 0::4]
    if direction in ('vertical', 'diagonal'):
        flipped[..., 1::4] = img_shape[0] - bboxes[..., 3::4]
        flipped[..., 3::4] = img_shape[0] - bboxes[..., 1::4]
    return flipped


def bbox_mapping(bboxes: Tensor, img_shape: Sequence[int],
                 scale_factor: Union[float, Sequence[float], np.ndarray], flip: bool,
                 flip_direction: str = 'horizontal') -> Tensor:
    """Map (n, 4) boxes of the original image into a test-time augmented image."""
    new_bboxes = bboxes * scale_factor_tensor(scale_factor, bboxes)
    if flip:
        new_bboxes = bbox_flip(new_bboxes, img_shape, flip_direction)
    return new_bboxes


def bbox_mapping_back(bboxes: Tensor, img_shape: Sequence[int],
                      scale_factor: Union[float, Sequence[float], np.ndarray], flip: bool,
                      flip_direction: str = 'horizontal') -> Tensor:
    """Map (..., 4) boxes of a test-time augmented image back to the original image."""
    new_bboxes = bbox_flip(bboxes, img_shape, flip_direction) if flip else bboxes
    new_bboxes = new_bboxes.reshape(-1, 4) / scale_factor_tensor(scale_factor, new_bboxes)
    return new_bboxes.view(bboxes.shape)


def bbox2roi(bbox_list: Sequence[Tensor]) -> Tensor:
    """Pack per-image boxes into RoIs.

    Args:
        bbox_list: per image an (n_i, 4+) tensor of boxes (extra columns are dropped).

    Returns:
        (sum n_i, 5) RoIs ``[batch_ind, x1, y1, x2, y2]``.
    """
    if len(bbox_list) == 0:
        raise ValueError('bbox2roi needs a list with one (n, 4) box tensor per image; got an '
                         'empty list')
    rois_list = []
    for img_id, bboxes in enumerate(bbox_list):
        if bboxes.size(0) > 0:
            img_inds = bboxes.new_full((bboxes.size(0), 1), img_id)
            rois = torch.cat([img_inds, bboxes[:, :4]], dim=-1)
        else:
            rois = bboxes.new_zeros((0, 5))
        rois_list.append(rois)
    return torch.cat(rois_list, 0)


def roi2bbox(rois: Tensor) -> List[Tensor]:
    """Unpack (n, 5) RoIs into per-image (n_i, 4) boxes (images without RoIs are skipped)."""
    bbox_list = []
    img_ids = torch.unique(rois[:, 0].cpu(), sorted=True)
    for img_id in img_ids:
        inds = rois[:, 0] == img_id.item()
        bbox_list.append(rois[inds, 1:])
    return bbox_list


def bbox2result(bboxes: Union[Tensor, np.ndarray], labels: Union[Tensor, np.ndarray],
                num_classes: int) -> List[np.ndarray]:
    """Split detections of one image by class.

    Args:
        bboxes: (n, 5) ``[x1, y1, x2, y2, score]``.
        labels: (n,) class indices in [0, num_classes).
        num_classes: number of classes (background excluded).

    Returns:
        list over classes of (n_c, 5) float32 arrays.
    """
    if bboxes.shape[0] == 0:
        return [np.zeros((0, 5), dtype=np.float32) for _ in range(num_classes)]
    if isinstance(bboxes, torch.Tensor):
        bboxes = bboxes.detach().cpu().numpy()
    if isinstance(labels, torch.Tensor):
        labels = labels.detach().cpu().numpy()
    return [bboxes[labels == i, :] for i in range(num_classes)]


def bbox_rescale(bboxes: Tensor, scale_factor: float = 1.0) -> Tensor:
    """Scale (n, 4) boxes or (n, 5) RoIs about their centres by ``scale_factor``."""
    if bboxes.size(1) == 5:
        bboxes_ = bboxes[:, 1:]
        inds_ = bboxes[:, 0]
    else:
        bboxes_ = bboxes
    cx = (bboxes_[:, 0] + bboxes_[:, 2]) * 0.5
    cy = (bboxes_[:, 1] + bboxes_[:, 3]) * 0.5
    w = (bboxes_[:, 2] - bboxes_[:, 0]) * scale_factor
    h = (bboxes_[:, 3] - bboxes_[:, 1]) * scale_factor
    x1, x2 = cx - 0.5 * w, cx + 0.5 * w
    y1, y2 = cy - 0.5 * h, cy + 0.5 * h
    if bboxes.size(1) == 5:
        return torch.stack([inds_, x1, y1, x2, y2], dim=-1)
    return torch.stack([x1, y1, x2, y2], dim=-1)


def bbox_cxcywh_to_xyxy(bbox: Tensor) -> Tensor:
    """(..., 4) (cx, cy, w, h) -> (x1, y1, x2, y2)."""
    cx, cy, w, h = bbox.split((1, 1, 1, 1), dim=-1)
    return torch.cat([cx - 0.5 * w, cy - 0.5 * h, cx + 0.5 * w, cy + 0.5 * h], dim=-1)


def bbox_xyxy_to_cxcywh(bbox: Tensor) -> Tensor:
    """(..., 4) (x1, y1, x2, y2) -> (cx, cy, w, h)."""
    x1, y1, x2, y2 = bbox.split((1, 1, 1, 1), dim=-1)
    return torch.cat([(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1], dim=-1)


def distance2bbox(points: Tensor, distance: Tensor,
                  max_shape: Optional[Union[Sequence[int], Sequence[Sequence[int]], Tensor]] = None
                  ) -> Tensor:
    """Boxes from points and their distances to the four sides.

    Args:
        points: (N, 2) or (B, N, 2) points (x, y).
        distance: (N, 4) or (B, N, 4) distances (left, top, right, bottom).
        max_shape: (h, w[, c]) to clip the boxes to; for batched input also one shape per
            image (a list or a (B, 2+) tensor).

    Returns:
        (N, 4) or (B, N, 4) xyxy boxes.
    """
    x1 = points[..., 0] - distance[..., 0]
    y1 = points[..., 1] - distance[..., 1]
    x2 = points[..., 0] + distance[..., 2]
    y2 = points[..., 1] + distance[..., 3]
    bboxes = torch.stack([x1, y1, x2, y2], -1)
    if max_shape is None:
        return bboxes
    if not isinstance(max_shape, Tensor):
        max_shape = x1.new_tensor(max_shape)
    max_shape = max_shape[..., :2].type_as(x1)
    if max_shape.ndim == 2 and (bboxes.ndim != 3 or max_shape.size(0) != bboxes.size(0)):
        raise ConfigValueError(f'distance2bbox: {max_shape.size(0)} per-image max_shapes need batched '
                               f'(B, N, 4) boxes with B = {max_shape.size(0)}, got '
                               f'{tuple(bboxes.shape)}')
    max_xy = torch.cat([max_shape, max_shape], dim=-1).flip(-1).unsqueeze(-2)  # (..., 1, 4)
    min_xy = x1.new_tensor(0)
    bboxes = torch.where(bboxes < min_xy, min_xy, bboxes)
    return torch.where(bboxes > max_xy, max_xy, bboxes)


def bbox2distance(points: Tensor, bbox: Tensor, max_dis: Optional[float] = None,
                  eps: float = 0.1) -> Tensor:
    """Distances (left, top, right, bottom) from points to the sides of boxes; the inverse of
    :func:`distance2bbox`.

    Args:
        points: (n, 2) points (x, y).
        bbox: (n, 4) xyxy boxes.
        max_dis: if given, clamp the distances to [0, max_dis - eps].
        eps: keeps clamped distances strictly below ``max_dis``.

    Returns:
        (n, 4) distances.
    """
    left = points[:, 0] - bbox[:, 0]
    top = points[:, 1] - bbox[:, 1]
    right = bbox[:, 2] - points[:, 0]
    bottom = bbox[:, 3] - points[:, 1]
    distances = torch.stack([left, top, right, bottom], -1)
    if max_dis is not None:
        distances = distances.clamp(min=0, max=max_dis - eps)
    return distances


def find_inside_bboxes(bboxes: Tensor, img_h: int, img_w: int) -> Tensor:
    """(n,) bool flags of the (n, 4) xyxy boxes that overlap the image [0, img_w] x [0, img_h]
    (a box touching it only along an edge does not count)."""
    return ((bboxes[:, 0] < img_w) & (bboxes[:, 2] > 0)
            & (bboxes[:, 1] < img_h) & (bboxes[:, 3] > 0))
