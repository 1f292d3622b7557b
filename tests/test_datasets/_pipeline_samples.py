"""A small annotated sample whose pixels encode its annotations, for pipeline tests.

Image (48, 64, 3) uint8: channel 0 is 255 inside the two objects, channel 1 is 255 inside the
ignore box. Objects: A = [4, 6, 20, 30] (label 0), B = [30, 10, 60, 40] (label 1); ignore box
[40, 30, 50, 44]. The segmentation map holds 1 in A, 2 in B (B drawn last), 0 elsewhere.
``assert_consistent`` checks that boxes, masks and maps still describe the pixels.
"""
from typing import List

import numpy as np

from mmdet_lite.core import BitmapMasks, PolygonMasks

H, W = 48, 64
BOXES = np.array([[4, 6, 20, 30], [30, 10, 60, 40]], dtype=np.float32)
IGNORE = np.array([[40, 30, 50, 44]], dtype=np.float32)


class FixedRandom:
    """Replays queued values for one ``np.random`` function (monkeypatched in tests)."""

    def __init__(self, values: List):
        self.values = list(values)

    def __call__(self, *args, **kwargs):
        if not self.values:
            raise AssertionError(f'unexpected extra random draw {args} {kwargs}')
        return self.values.pop(0)


def make_sample(polygons: bool = False, empty: bool = False, masks: bool = True,
                seg: bool = True, float_img: bool = False) -> dict:
    boxes = np.zeros((0, 4), np.float32) if empty else BOXES.copy()
    img = np.zeros((H, W, 3), dtype=np.uint8)
    bitmaps = np.zeros((len(boxes), H, W), np.uint8)
    polys = []
    seg_map = np.zeros((H, W), np.uint8)
    for i, (x1, y1, x2, y2) in enumerate(boxes.astype(int)):
        bitmaps[i, y1:y2, x1:x2] = 1
        img[y1:y2, x1:x2, 0] = 255
        seg_map[y1:y2, x1:x2] = i + 1
        polys.append([np.array([x1, y1, x2, y1, x2, y2, x1, y2], np.float64)])
    x1, y1, x2, y2 = IGNORE[0].astype(int)
    img[y1:y2, x1:x2, 1] = 255
    results = dict(img=img.astype(np.float32) if float_img else img, img_shape=img.shape,
                   ori_shape=img.shape, img_fields=['img'], filename='x.png',
                   ori_filename='x.png', gt_bboxes=boxes,
                   gt_labels=np.arange(len(boxes), dtype=np.int64),
                   gt_bboxes_ignore=IGNORE.copy(), bbox_fields=['gt_bboxes', 'gt_bboxes_ignore'],
                   mask_fields=[], seg_fields=[])
    if masks:
        results['gt_masks'] = PolygonMasks(polys, H, W) if polygons else BitmapMasks(bitmaps, H, W)
        results['mask_fields'] = ['gt_masks']
    if seg:
        results['gt_semantic_seg'] = seg_map
        results['seg_fields'] = ['gt_semantic_seg']
    return results


def box_of(bitmap: np.ndarray) -> np.ndarray:
    ys, xs = np.nonzero(bitmap)
    return np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], np.float32)


def assert_consistent(results: dict, atol: float = 1.0) -> None:
    """Boxes, labels and masks aligned; each mask's box is its gt box; the masks cover the
    object pixels; the ignore box encloses the ignore pixels; the map agrees with the masks."""
    img = results['img']
    n = len(results['gt_bboxes'])
    assert len(results['gt_labels']) == n
    if 'gt_masks' in results:
        masks = results['gt_masks'].to_ndarray()
        assert len(masks) == n and masks.shape[1:] == img.shape[:2]
        for box, mask in zip(results['gt_bboxes'], masks):
            np.testing.assert_allclose(box, box_of(mask), atol=atol)
        union = masks.any(0) if n else np.zeros(img.shape[:2], bool)
        objects = img[..., 0] > 200
        # objects fully cut away by a crop leave no box but may leave pixels: count only kept
        assert (union & ~objects).mean() < 0.02
    if 'gt_semantic_seg' in results and 'gt_masks' in results and n:
        seg = results['gt_semantic_seg']
        assert seg.shape == img.shape[:2]
        label_area = np.isin(seg, results['gt_labels'] + 1)
        assert (results['gt_masks'].to_ndarray().any(0) & ~label_area).mean() < 0.02
    for box in results.get('gt_bboxes_ignore', np.zeros((0, 4))):
        ignore = img[..., 1] > 200
        np.testing.assert_allclose(box, box_of(ignore), atol=atol)
