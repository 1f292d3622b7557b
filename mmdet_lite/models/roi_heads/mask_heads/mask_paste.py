"""Paste RoI mask probabilities into full images.

Shapes: ``N`` masks, ``(M_h, M_w)`` the mask head's output size, ``(H, W)`` the image size.
Two conventions are available:

* ``paste_masks_grid_sample`` — mmdetection 2.x's: every image pixel centre ``(x + 0.5, y + 0.5)``
  is mapped into the box's frame and the mask is sampled bilinearly there (zero outside).
* ``paste_masks_torchvision`` — torchvision's ``paste_masks_in_image``: pad the mask by one
  pixel, enlarge the box by the same ratio, round it to integers, resize the mask to the
  rounded box with ``F.interpolate`` and copy it in.
"""
from typing import Optional, Tuple

import torch
import torch.nn.functional as F

Tensor = torch.Tensor


def paste_masks_grid_sample(masks: Tensor, boxes: Tensor, img_h: int, img_w: int,
                            skip_empty: bool = True) -> Tuple[Tensor, tuple]:
    """Paste ``masks`` (N, 1, M_h, M_w) into boxes ``boxes`` (N, 4) of an (img_h, img_w) image.

    With ``skip_empty`` only the region covering all boxes (plus one pixel) is computed.
    Returns the pasted masks (N, h, w) and the ``(slice_y, slice_x)`` of the image they cover
    (an empty tuple when they cover the whole image).
    """
    device = masks.device
    if skip_empty:
        x0_int = int(torch.clamp(boxes[:, 0].min().floor() - 1, min=0))
        y0_int = int(torch.clamp(boxes[:, 1].min().floor() - 1, min=0))
        x1_int = int(torch.clamp(boxes[:, 2].max().ceil() + 1, max=img_w))
        y1_int = int(torch.clamp(boxes[:, 3].max().ceil() + 1, max=img_h))
    else:
        x0_int, y0_int, x1_int, y1_int = 0, 0, img_w, img_h
    boxes = boxes.to(torch.float32)
    x0, y0, x1, y1 = boxes[:, 0:1], boxes[:, 1:2], boxes[:, 2:3], boxes[:, 3:4]
    pix_x = torch.arange(x0_int, x1_int, device=device, dtype=torch.float32) + 0.5
    pix_y = torch.arange(y0_int, y1_int, device=device, dtype=torch.float32) + 0.5
    # grid_sample's normalised frame: -1 and +1 are the outer edges of the mask (box) pixels.
    norm_x = (pix_x[None, :] - x0) / (x1 - x0) * 2 - 1  # (N, w)
    norm_y = (pix_y[None, :] - y0) / (y1 - y0) * 2 - 1  # (N, h)
    # A zero-width box divides by zero; such pixels sample the mask centre, as in 2.x.
    norm_x = torch.where(torch.isinf(norm_x), torch.zeros_like(norm_x), norm_x)
    norm_y = torch.where(torch.isinf(norm_y), torch.zeros_like(norm_y), norm_y)
    num = masks.shape[0]
    grid_x = norm_x[:, None, :].expand(num, norm_y.size(1), norm_x.size(1))
    grid_y = norm_y[:, :, None].expand(num, norm_y.size(1), norm_x.size(1))
    grid = torch.stack([grid_x, grid_y], dim=3)
    pasted = F.grid_sample(masks.to(torch.float32), grid, mode='bilinear', padding_mode='zeros',
                           align_corners=False)[:, 0]
    if skip_empty:
        return pasted, (slice(y0_int, y1_int), slice(x0_int, x1_int))
    return pasted, ()


def paste_masks_torchvision(masks: Tensor, boxes: Tensor, img_h: int, img_w: int,
                            padding: int = 1, out: Optional[Tensor] = None,
                            threshold: Optional[float] = None) -> Tensor:
    """torchvision's convention: ``masks`` (N, 1, M, M), ``boxes`` (N, 4) → (N, img_h, img_w).

    With ``threshold`` each box region is binarised (``>= threshold``) as it is pasted, so no
    full-image float masks are made. ``out`` (N, img_h, img_w), zero-filled, receives the
    result (bool with ``threshold``, else float); by default a new tensor is returned.
    """
    num, _, mask_h, mask_w = masks.shape
    if out is None:
        out = masks.new_zeros((num, img_h, img_w),
                              dtype=torch.float32 if threshold is None else torch.bool)
    elif tuple(out.shape) != (num, img_h, img_w):
        raise ValueError(f'paste_masks_torchvision: out has shape {tuple(out.shape)}, expected '
                         f'{(num, img_h, img_w)}')
    if num == 0:
        return out
    padded = F.pad(masks.to(torch.float32), (padding, padding, padding, padding))
    scale_x = (mask_w + 2 * padding) / mask_w
    scale_y = (mask_h + 2 * padding) / mask_h
    boxes = boxes.to(torch.float32)
    cx = (boxes[:, 0] + boxes[:, 2]) * 0.5
    cy = (boxes[:, 1] + boxes[:, 3]) * 0.5
    half_w = (boxes[:, 2] - boxes[:, 0]) * 0.5 * scale_x
    half_h = (boxes[:, 3] - boxes[:, 1]) * 0.5 * scale_y
    int_boxes = torch.stack([cx - half_w, cy - half_h, cx + half_w, cy + half_h],
                            dim=1).to(torch.int64).tolist()
    for i, (bx0, by0, bx1, by1) in enumerate(int_boxes):
        # torchvision treats box corners as inclusive pixel indices: width = x1 - x0 + 1.
        box_w = max(bx1 - bx0 + 1, 1)
        box_h = max(by1 - by0 + 1, 1)
        resized = F.interpolate(padded[i:i + 1], size=(box_h, box_w), mode='bilinear',
                                align_corners=False)[0, 0]
        x_start, x_end = max(bx0, 0), min(bx1 + 1, img_w)
        y_start, y_end = max(by0, 0), min(by1 + 1, img_h)
        if x_end <= x_start or y_end <= y_start:
            continue
        region = resized[y_start - by0:y_end - by0, x_start - bx0:x_end - bx0]
        out[i, y_start:y_end, x_start:x_end] = region if threshold is None else (
            region >= threshold)
    return out
