"""Merge the results of test-time augmentations (flip / multi-scale) back onto the image."""
import warnings
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.config import ConfigDict
from torch import Tensor

from ..bbox.transforms import bbox_mapping_back
from ..utils.config import as_config
from .nms import nms


def merge_aug_proposals(aug_proposals: Sequence[Tensor], img_metas: Sequence[dict],
                        cfg: dict) -> Tensor:
    """Map the (n_i, 5) proposals of each augmentation back, then NMS them together.

    Args:
        aug_proposals: per augmentation the (n_i, 5) proposals of one image.
        img_metas: per augmentation the meta dict of that image (img_shape, scale_factor,
            flip, flip_direction).
        cfg: RPN test config with ``nms=dict(iou_threshold=...)`` and ``max_per_img``
            (legacy ``nms_thr`` / ``max_num`` are accepted with a warning).

    Returns:
        (k, 5) merged proposals sorted by score.
    """
    cfg = as_config(cfg)
    if 'nms' not in cfg or 'max_num' in cfg or 'nms_thr' in cfg:
        warnings.warn('In rpn_proposal / test_cfg, nms_thr moved to nms=dict(iou_threshold=...) '
                      'and max_num was renamed max_per_img', DeprecationWarning)
    if 'nms' not in cfg:
        cfg.nms = ConfigDict(dict(type='nms', iou_threshold=cfg.nms_thr))
    if 'max_num' in cfg:
        if 'max_per_img' in cfg and cfg.max_num != cfg.max_per_img:
            raise ValueError(f'merge_aug_proposals: max_num ({cfg.max_num}) and max_per_img '
                             f'({cfg.max_per_img}) differ; keep only max_per_img')
        cfg.max_per_img = cfg.max_num
    if 'nms_thr' in cfg and cfg.nms.iou_threshold != cfg.nms_thr:
        raise ValueError(f'merge_aug_proposals: nms_thr ({cfg.nms_thr}) and nms.iou_threshold '
                         f'({cfg.nms.iou_threshold}) differ; keep only nms.iou_threshold')

    recovered_proposals = []
    for proposals, img_info in zip(aug_proposals, img_metas):
        _proposals = proposals.clone()
        _proposals[:, :4] = bbox_mapping_back(_proposals[:, :4], img_info['img_shape'],
                                              img_info['scale_factor'], img_info['flip'],
                                              img_info.get('flip_direction', 'horizontal'))
        recovered_proposals.append(_proposals)
    aug_proposals = torch.cat(recovered_proposals, dim=0)
    merged_proposals, _ = nms(aug_proposals[:, :4].contiguous(),
                              aug_proposals[:, -1].contiguous(), cfg.nms.iou_threshold)
    scores = merged_proposals[:, 4]
    _, order = scores.sort(0, descending=True)
    order = order[:min(cfg.max_per_img, merged_proposals.shape[0])]
    return merged_proposals[order, :]


def merge_aug_bboxes(aug_bboxes: Sequence[Tensor], aug_scores: Optional[Sequence[Tensor]],
                     img_metas: Sequence[Sequence[dict]],
                     rcnn_test_cfg: Optional[dict] = None
                     ) -> Union[Tensor, Tuple[Tensor, Tensor]]:
    """Average the boxes (and scores) of the augmentations after mapping them back.

    Args:
        aug_bboxes: per augmentation the (n, 4 * k) boxes (same n in every augmentation).
        aug_scores: per augmentation the (n, ...) scores, or None.
        img_metas: per augmentation a list whose first element is the image's meta dict.
        rcnn_test_cfg: unused (2.x signature).

    Returns:
        the mean boxes, and the mean scores if ``aug_scores`` is given.
    """
    recovered_bboxes = []
    for bboxes, img_info in zip(aug_bboxes, img_metas):
        meta = img_info[0]
        recovered_bboxes.append(
            bbox_mapping_back(bboxes, meta['img_shape'], meta['scale_factor'], meta['flip'],
                              meta.get('flip_direction', 'horizontal')))
    bboxes = torch.stack(recovered_bboxes).mean(dim=0)
    if aug_scores is None:
        return bboxes
    scores = torch.stack(list(aug_scores)).mean(dim=0)
    return bboxes, scores


def merge_aug_scores(aug_scores: Sequence[Union[Tensor, np.ndarray]]) -> Union[Tensor,
                                                                               np.ndarray]:
    """Mean of the scores of the augmentations."""
    if isinstance(aug_scores[0], torch.Tensor):
        return torch.mean(torch.stack(list(aug_scores)), dim=0)
    return np.mean(aug_scores, axis=0)


def merge_aug_masks(aug_masks: Sequence[Union[np.ndarray, Tensor]],
                    img_metas: Sequence[Sequence[dict]], rcnn_test_cfg: Optional[dict] = None,
                    weights: Optional[Sequence[float]] = None) -> Union[np.ndarray, Tensor]:
    """Un-flip and (weighted-)average the (n, C, h, w) mask predictions of the augmentations."""
    recovered_masks = []
    for mask, img_info in zip(aug_masks, img_metas):
        meta = img_info[0]
        if meta['flip']:
            direction = meta.get('flip_direction', 'horizontal')
            dims = {'horizontal': (3, ), 'vertical': (2, ), 'diagonal': (2, 3)}
            if direction not in dims:
                raise ValueError(f"merge_aug_masks: invalid flip_direction '{direction}'")
            if isinstance(mask, torch.Tensor):
                mask = torch.flip(mask, dims[direction])
            else:
                mask = np.flip(mask, dims[direction])
        recovered_masks.append(mask)

    if isinstance(recovered_masks[0], torch.Tensor):
        stacked = torch.stack(recovered_masks)
        if weights is None:
            return stacked.mean(dim=0)
        w = stacked.new_tensor(weights).view(-1, *([1] * (stacked.ndim - 1)))
        return (stacked * w).sum(dim=0) / w.sum()
    if weights is None:
        return np.mean(recovered_masks, axis=0)
    return np.average(np.array(recovered_masks), axis=0, weights=np.array(weights))
