"""Validation of ground-truth boxes before target assignment (fail loudly, name the image)."""
from typing import List, Optional, Sequence

import torch
from torch import Tensor


def check_gt_bboxes(gt_bboxes: Sequence[Tensor], img_metas: Sequence[dict],
                    gt_labels: Optional[Sequence[Tensor]] = None,
                    num_classes: Optional[int] = None) -> None:
    """Raise ``ValueError`` naming the image when a GT box is malformed.

    Args:
        gt_bboxes: per image a (k, 4) xyxy tensor.
        img_metas: per image meta dict; ``filename`` (or ``ori_filename``) names the image.
        gt_labels: per image a (k,) tensor, checked against ``num_classes`` when both are given.
        num_classes: number of foreground classes.
    """
    if len(gt_bboxes) != len(img_metas):
        raise ValueError(f'{len(gt_bboxes)} gt_bboxes tensors for {len(img_metas)} images; '
                         'give one (k, 4) tensor per image')
    for i, (boxes, meta) in enumerate(zip(gt_bboxes, img_metas)):
        name = _image_name(meta, i)
        if not isinstance(boxes, Tensor) or boxes.dim() != 2 or boxes.size(-1) != 4:
            shape = tuple(boxes.shape) if isinstance(boxes, Tensor) else type(boxes).__name__
            raise ValueError(f'gt_bboxes of image {name} must be a (k, 4) xyxy tensor, got '
                             f'{shape}; use an empty (0, 4) tensor for an image without boxes')
        if boxes.numel() == 0:
            pass
        elif not torch.isfinite(boxes).all():
            bad = boxes[~torch.isfinite(boxes).all(dim=1)][0].tolist()
            raise ValueError(f'gt box {bad} of image {name} has non-finite coordinates; '
                             'fix or drop it in the annotation file')
        else:
            inverted = (boxes[:, 2] < boxes[:, 0]) | (boxes[:, 3] < boxes[:, 1])
            if inverted.any():
                bad = boxes[inverted][0].tolist()
                raise ValueError(f'gt box {bad} of image {name} has x2 < x1 or y2 < y1; boxes '
                                 'must be [x1, y1, x2, y2] absolute pixels (convert xywh '
                                 'annotations with x2 = x + w, y2 = y + h)')
        if gt_labels is not None and num_classes is not None:
            labels = gt_labels[i]
            if labels.numel() != boxes.size(0):
                raise ValueError(f'image {name} has {boxes.size(0)} gt boxes but '
                                 f'{labels.numel()} gt labels')
            if labels.numel() and (labels.min() < 0 or labels.max() >= num_classes):
                raise ValueError(f'gt label {int(labels.max())} of image {name} is outside '
                                 f'[0, {num_classes}); set the head num_classes to the '
                                 "dataset's number of classes")


def _image_name(meta: dict, index: int) -> str:
    for key in ('filename', 'ori_filename'):
        if isinstance(meta, dict) and meta.get(key):
            return repr(meta[key])
    return f'#{index} of the batch (no filename in img_metas)'


__all__: List[str] = ['check_gt_bboxes']
