"""Mask targets of the mask head: the GT mask of each positive RoI, RoIAligned to ``mask_size``.

Shapes: ``P`` positive RoIs of one image, ``(m_h, m_w)`` = ``cfg.mask_size``.
"""
from typing import List, Sequence

import numpy as np
import torch
from torch.nn.modules.utils import _pair

from .structures import BaseInstanceMasks

Tensor = torch.Tensor


def mask_target(pos_proposals_list: Sequence[Tensor], pos_assigned_gt_inds_list: Sequence[Tensor],
                gt_masks_list: Sequence[BaseInstanceMasks], cfg) -> Tensor:
    """Mask targets of a batch, concatenated over images: (sum P, m_h, m_w) float.

    Args:
        pos_proposals_list: per image, positive proposals (P, 4) xyxy.
        pos_assigned_gt_inds_list: per image, the GT index (P,) of each positive proposal.
        gt_masks_list: per image, the GT masks (``BitmapMasks`` or ``PolygonMasks``).
        cfg: the rcnn train config; reads ``mask_size`` and ``soft_mask_target`` (default False).
    """
    if not (len(pos_proposals_list) == len(pos_assigned_gt_inds_list) == len(gt_masks_list)):
        raise ValueError(
            f'mask_target got {len(pos_proposals_list)} proposal lists, '
            f'{len(pos_assigned_gt_inds_list)} index lists and {len(gt_masks_list)} mask lists; '
            'pass one of each per image')
    targets: List[Tensor] = [
        mask_target_single(proposals, gt_inds, gt_masks, cfg)
        for proposals, gt_inds, gt_masks in zip(pos_proposals_list, pos_assigned_gt_inds_list,
                                                 gt_masks_list)
    ]
    if len(targets) == 0:
        mask_size = _pair(cfg['mask_size'])
        return torch.zeros((0, ) + tuple(mask_size))
    return torch.cat(targets)


def mask_target_single(pos_proposals: Tensor, pos_assigned_gt_inds: Tensor,
                       gt_masks: BaseInstanceMasks, cfg) -> Tensor:
    """Of one image: mask targets (P, m_h, m_w) float on ``pos_proposals``' device.

    The proposals are clipped to the mask canvas first, then each RoI of its assigned GT mask
    is resampled to ``mask_size`` (bilinear RoIAlign, binarised at 0.5 unless
    ``cfg.soft_mask_target``).
    """
    if 'mask_size' not in cfg:
        raise KeyError('the rcnn train_cfg has no mask_size; add e.g. '
                       'train_cfg.rcnn.mask_size=28 for an FCNMaskHead with 14x14 RoIs')
    device = pos_proposals.device
    mask_size = tuple(_pair(cfg['mask_size']))
    binarize = not cfg.get('soft_mask_target', False)
    num_pos = pos_proposals.size(0)
    if num_pos == 0:
        return pos_proposals.new_zeros((0, ) + mask_size)
    if len(gt_masks) == 0:
        raise ValueError(f'{num_pos} positive proposals but no GT mask: gt_masks must hold one '
                         'mask per GT box')
    proposals_np = pos_proposals.detach().cpu().numpy().astype(np.float32)
    max_h, max_w = gt_masks.height, gt_masks.width
    proposals_np[:, [0, 2]] = np.clip(proposals_np[:, [0, 2]], 0, max_w)
    proposals_np[:, [1, 3]] = np.clip(proposals_np[:, [1, 3]], 0, max_h)
    gt_inds_np = pos_assigned_gt_inds.detach().cpu().numpy().astype(np.int64)
    targets = gt_masks.crop_and_resize(proposals_np, mask_size, inds=gt_inds_np, device=device,
                                       binarize=binarize).to_ndarray()
    return torch.from_numpy(np.asarray(targets)).float().to(device)
