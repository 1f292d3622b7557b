"""Load COCO-panoptic annotations (mmdetection 2.x ``LoadPanopticAnnotations``)."""
import os.path as osp
from typing import Optional

import mmcv
import numpy as np
from mmengine import fileio

from ...core.mask.structures import BitmapMasks
from ...registry import TRANSFORMS
from .loading import LoadAnnotations


def rgb2id(color: np.ndarray) -> np.ndarray:
    """Segment ids (int32) of a COCO-panoptic PNG read in RGB order: ``R + 256 G + 256**2 B``."""
    color = color.astype(np.int32)
    return color[..., 0] + 256 * color[..., 1] + 256 * 256 * color[..., 2]


@TRANSFORMS.register_module()
class LoadPanopticAnnotations(LoadAnnotations):
    """Boxes and labels from ``ann_info`` plus, from the panoptic PNG
    (``seg_prefix/ann_info['seg_map']``), one bitmap per *thing* segment (``gt_masks``) and a
    semantic map (``gt_semantic_seg``) holding each segment's ``category`` (things first, then
    stuff, as the dataset numbers them) and 255 where no segment is (VOID).

    ``ann_info['masks']`` lists the segments as ``dict(id=, category=, is_thing=)``.
    """

    def __init__(self, with_bbox: bool = True, with_label: bool = True, with_mask: bool = True,
                 with_seg: bool = True, file_client_args: Optional[dict] = None):
        super().__init__(with_bbox=with_bbox, with_label=with_label, with_mask=with_mask,
                         with_seg=with_seg, poly2mask=True, denorm_bbox=False,
                         file_client_args=file_client_args)

    def _load_masks_and_semantic_seg(self, results: dict) -> None:
        filename = osp.join(results.get('seg_prefix') or '', results['ann_info']['seg_map'])
        content = fileio.get(filename, backend_args=self.backend_args)
        ids = rgb2id(mmcv.imfrombytes(content, flag='color', channel_order='rgb'))
        seg = np.full(ids.shape, 255, dtype=np.int32)
        things = []
        for segment in results['ann_info']['masks']:
            inside = ids == segment['id']
            seg[inside] = segment['category']
            if segment.get('is_thing'):
                things.append(inside.astype(np.uint8))
        if self.with_mask:
            h, w = results['img_info']['height'], results['img_info']['width']
            results['gt_masks'] = BitmapMasks(things, h, w)
            results.setdefault('mask_fields', []).append('gt_masks')
        if self.with_seg:
            results['gt_semantic_seg'] = seg
            results.setdefault('seg_fields', []).append('gt_semantic_seg')

    def __call__(self, results: dict) -> dict:
        if self.with_bbox:
            self._load_bboxes(results)
        if self.with_label:
            results['gt_labels'] = np.asarray(results['ann_info']['labels'], np.int64).copy()
        if self.with_mask or self.with_seg:
            self._load_masks_and_semantic_seg(results)
        return results
