"""Transforms that mix several images (mmdetection 2.x ``Mosaic``, ``MixUp``, ``CopyPaste``).

They run inside ``MultiImageMixDataset``: the dataset calls ``get_indexes(dataset)``, runs
its own pipeline on those samples and puts them in ``results['mix_results']`` before calling
the transform. ``Mosaic`` and ``MixUp`` handle boxes (``gt_bboxes``/``gt_labels``, plus
``gt_bboxes_ignore``) as 2.x does; instance masks or segmentation maps are an error rather
than being left misaligned. ``CopyPaste`` is for instance masks.
"""
from typing import List, Tuple, Union

import mmcv
import numpy as np

from ...core.mask.structures import BitmapMasks, PolygonMasks
from ...registry import TRANSFORMS
from .instance_fields import (clip_bboxes, find_inside_bboxes, keep_box_candidates,
                              non_degenerate, require_boxes_only)
from ...core.utils.errors import ConfigKeyError, ConfigValueError

Box = Tuple[int, int, int, int]


def _mix_results(results: dict, transform: str, count: int) -> List[dict]:
    mixed = results.get('mix_results')
    if mixed is None:
        raise ConfigKeyError(f"{transform} needs results['mix_results']: wrap the dataset in "
                             "MultiImageMixDataset (type='MultiImageMixDataset', dataset=..., "
                             'pipeline=[...]) and put the transform in its pipeline')
    if len(mixed) != count:
        raise ConfigValueError(f'{transform} mixes {count} extra image(s), got {len(mixed)}')
    return mixed


def _boxes(results: dict, key: str) -> np.ndarray:
    return np.asarray(results.get(key, np.zeros((0, 4))), np.float32).reshape(-1, 4)


def _box_keys(results: dict) -> List[str]:
    return [k for k in ('gt_bboxes', 'gt_bboxes_ignore') if k in results.get('bbox_fields', [])]


@TRANSFORMS.register_module()
class Mosaic:
    """Four images in a 2x2 mosaic of size (2h, 2w) around a random centre.

    The centre is (uniform(*center_ratio_range) * w, uniform(*center_ratio_range) * h); each
    image is rescaled to fit (h, w) keeping its ratio and placed in its quadrant against the
    centre (top-left: this sample; then ``mix_results`` 0, 1, 2 top-right, bottom-left,
    bottom-right), cut at the canvas border. Boxes follow; boxes outside the canvas are dropped.

    Args:
        img_scale: (h, w) of one quadrant; the output is (2h, 2w).
        center_ratio_range: range of the centre as a fraction of (w, h).
        min_bbox_size: with ``skip_filter=False``, boxes no wider/taller are dropped.
        bbox_clip_border: clip boxes to the canvas.
        skip_filter: skip the ``min_bbox_size`` filter.
        pad_val: canvas fill value.
        prob: probability of making a mosaic.
    """

    def __init__(self, img_scale: Tuple[int, int] = (640, 640),
                 center_ratio_range: Tuple[float, float] = (0.5, 1.5),
                 min_bbox_size: float = 0, bbox_clip_border: bool = True,
                 skip_filter: bool = True, pad_val: float = 114, prob: float = 1.0):
        if not isinstance(img_scale, tuple) or len(img_scale) != 2:
            raise ConfigValueError(f'Mosaic img_scale must be a tuple (h, w), got {img_scale!r}')
        if not 0 <= prob <= 1:
            raise ConfigValueError(f'Mosaic prob must be in [0, 1], got {prob}')
        self.img_scale = img_scale
        self.center_ratio_range = center_ratio_range
        self.min_bbox_size = min_bbox_size
        self.bbox_clip_border = bbox_clip_border
        self.skip_filter = skip_filter
        self.pad_val = pad_val
        self.prob = prob

    def get_indexes(self, dataset) -> List[int]:
        """Three random dataset indices for the other quadrants."""
        return [np.random.randint(0, len(dataset)) for _ in range(3)]

    def _paste_and_crop(self, loc: str, center: Tuple[int, int],
                        size_wh: Tuple[int, int]) -> Tuple[Box, Box]:
        """Where a (w_i, h_i) image goes on the canvas (x1, y1, x2, y2) and which part of it
        is shown, for quadrant ``loc`` around ``center`` (x, y)."""
        cx, cy = center
        w_i, h_i = size_wh
        max_x, max_y = 2 * self.img_scale[1], 2 * self.img_scale[0]
        left = loc.endswith('left')
        top = loc.startswith('top')
        x1, x2 = (max(cx - w_i, 0), cx) if left else (cx, min(cx + w_i, max_x))
        y1, y2 = (max(cy - h_i, 0), cy) if top else (cy, min(cy + h_i, max_y))
        pw, ph = x2 - x1, y2 - y1
        cx1, cx2 = (w_i - pw, w_i) if left else (0, min(w_i, pw))
        cy1, cy2 = (h_i - ph, h_i) if top else (0, min(h_i, ph))
        return (x1, y1, x2, y2), (cx1, cy1, cx2, cy2)

    def __call__(self, results: dict) -> dict:
        if np.random.uniform(0, 1) > self.prob:
            return results
        others = _mix_results(results, 'Mosaic', 3)
        require_boxes_only(results, 'Mosaic')
        img = results['img']
        h, w = self.img_scale
        canvas = np.full((2 * h, 2 * w) + img.shape[2:], self.pad_val, dtype=img.dtype)
        center = (int(np.random.uniform(*self.center_ratio_range) * w),
                  int(np.random.uniform(*self.center_ratio_range) * h))
        keys = _box_keys(results)
        boxes = {k: [] for k in keys}
        labels = []
        locs = ('top_left', 'top_right', 'bottom_left', 'bottom_right')
        for loc, part in zip(locs, [results] + list(others)):
            img_i = part['img']
            h_i, w_i = img_i.shape[:2]
            scale = min(h / h_i, w / w_i)
            img_i = mmcv.imresize(img_i, (int(w_i * scale), int(h_i * scale)))
            paste, crop = self._paste_and_crop(loc, center, img_i.shape[1::-1])
            canvas[paste[1]:paste[3], paste[0]:paste[2]] = img_i[crop[1]:crop[3], crop[0]:crop[2]]
            shift = np.array([paste[0] - crop[0], paste[1] - crop[1]] * 2, np.float32)
            for k in keys:
                boxes[k].append(_boxes(part, k) * scale + shift)
            labels.append(np.asarray(part['gt_labels'], np.int64).reshape(-1))
        results['gt_labels'] = np.concatenate(labels)
        for k in keys:
            merged = np.concatenate(boxes[k]).astype(np.float32)
            if self.bbox_clip_border:
                merged = clip_bboxes(merged, (2 * h, 2 * w))
            keep = find_inside_bboxes(merged, 2 * h, 2 * w)
            if not self.skip_filter:
                keep &= non_degenerate(merged, self.min_bbox_size)
            results[k] = merged[keep]
            if k == 'gt_bboxes':
                results['gt_labels'] = results['gt_labels'][keep]
        results['img'] = canvas
        results['img_shape'] = canvas.shape
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(img_scale={self.img_scale}, center_ratio_range='
                f'{self.center_ratio_range}, pad_val={self.pad_val}, min_bbox_size='
                f'{self.min_bbox_size}, skip_filter={self.skip_filter}, prob={self.prob})')


@TRANSFORMS.register_module()
class MixUp:
    """Blend this sample 50/50 with another one, YOLOX style.

    The other image is rescaled to fit ``img_scale`` (keeping its ratio) on a ``pad_val``
    canvas, scaled by a random jitter in ``ratio_range``, flipped with probability
    ``flip_ratio``, and a random window of this sample's size is cut from it; its boxes
    follow and are appended. Nothing happens when the other sample has no boxes.

    Args:
        img_scale: (h, w) of the canvas for the other image.
        ratio_range: jitter of its scale.
        flip_ratio: probability of flipping it horizontally.
        pad_val: canvas fill value.
        max_iters: tries of ``get_indexes`` to find a sample with boxes.
        min_bbox_size, min_area_ratio, max_aspect_ratio: the box filter, when
            ``skip_filter=False``.
        bbox_clip_border: clip boxes to the image.
        skip_filter: skip the box filter.
    """

    def __init__(self, img_scale: Tuple[int, int] = (640, 640),
                 ratio_range: Tuple[float, float] = (0.5, 1.5), flip_ratio: float = 0.5,
                 pad_val: float = 114, max_iters: int = 15, min_bbox_size: float = 5,
                 min_area_ratio: float = 0.2, max_aspect_ratio: float = 20,
                 bbox_clip_border: bool = True, skip_filter: bool = True):
        if not isinstance(img_scale, tuple) or len(img_scale) != 2:
            raise ConfigValueError(f'MixUp img_scale must be a tuple (h, w), got {img_scale!r}')
        self.dynamic_scale = img_scale
        self.ratio_range = ratio_range
        self.flip_ratio = flip_ratio
        self.pad_val = pad_val
        self.max_iters = max_iters
        self.min_bbox_size = min_bbox_size
        self.min_area_ratio = min_area_ratio
        self.max_aspect_ratio = max_aspect_ratio
        self.bbox_clip_border = bbox_clip_border
        self.skip_filter = skip_filter

    def get_indexes(self, dataset) -> int:
        """A random index whose annotation has boxes (at most ``max_iters`` tries)."""
        for _ in range(self.max_iters):
            index = np.random.randint(0, len(dataset))
            if len(dataset.get_ann_info(index)['bboxes']) != 0:
                break
        return index

    def __call__(self, results: dict) -> dict:
        other = _mix_results(results, 'MixUp', 1)[0]
        require_boxes_only(results, 'MixUp')
        other_boxes = _boxes(other, 'gt_bboxes')
        if len(other_boxes) == 0:
            return results
        jitter = np.random.uniform(*self.ratio_range)
        flip = np.random.uniform(0, 1) < self.flip_ratio
        other_img = other['img']
        canvas_h, canvas_w = self.dynamic_scale
        canvas = np.full((canvas_h, canvas_w) + other_img.shape[2:], self.pad_val,
                         dtype=other_img.dtype)
        scale = min(canvas_h / other_img.shape[0], canvas_w / other_img.shape[1])
        resized = mmcv.imresize(other_img, (int(other_img.shape[1] * scale),
                                            int(other_img.shape[0] * scale)))
        canvas[:resized.shape[0], :resized.shape[1]] = resized
        scale *= jitter
        canvas = mmcv.imresize(canvas, (int(canvas_w * jitter), int(canvas_h * jitter)))
        if flip:
            canvas = canvas[:, ::-1]
        img = results['img']
        origin_h, origin_w = canvas.shape[:2]
        target_h, target_w = img.shape[:2]
        padded = np.zeros((max(origin_h, target_h), max(origin_w, target_w)) + img.shape[2:],
                          dtype=np.uint8)
        padded[:origin_h, :origin_w] = canvas
        y_off = np.random.randint(0, padded.shape[0] - target_h) \
            if padded.shape[0] > target_h else 0
        x_off = np.random.randint(0, padded.shape[1] - target_w) \
            if padded.shape[1] > target_w else 0
        window = padded[y_off:y_off + target_h, x_off:x_off + target_w]

        scaled = other_boxes * scale
        if self.bbox_clip_border:
            scaled = clip_bboxes(scaled, (origin_h, origin_w))
        if flip:
            scaled[:, 0::2] = origin_w - scaled[:, 2::-2]
        moved = scaled - np.array([x_off, y_off, x_off, y_off], np.float32)
        if self.bbox_clip_border:
            moved = clip_bboxes(moved, (target_h, target_w))
        other_labels = np.asarray(other['gt_labels'], np.int64).reshape(-1)
        if not self.skip_filter:
            keep = keep_box_candidates(scaled, moved, self.min_bbox_size, self.min_area_ratio,
                                        self.max_aspect_ratio)
            moved, other_labels = moved[keep], other_labels[keep]
        boxes = np.concatenate([_boxes(results, 'gt_bboxes'), moved]).astype(np.float32)
        labels = np.concatenate([np.asarray(results['gt_labels'], np.int64).reshape(-1),
                                 other_labels])
        inside = find_inside_bboxes(boxes, target_h, target_w)
        mixed = 0.5 * img.astype(np.float32) + 0.5 * window.astype(np.float32)
        results['img'] = mixed.astype(np.uint8)
        results['img_shape'] = mixed.shape
        results['gt_bboxes'] = boxes[inside]
        results['gt_labels'] = labels[inside]
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(dynamic_scale={self.dynamic_scale}, ratio_range='
                f'{self.ratio_range}, flip_ratio={self.flip_ratio}, pad_val={self.pad_val}, '
                f'max_iters={self.max_iters}, min_bbox_size={self.min_bbox_size}, '
                f'min_area_ratio={self.min_area_ratio}, max_aspect_ratio='
                f'{self.max_aspect_ratio}, skip_filter={self.skip_filter})')


def _masks_from_boxes(bboxes: np.ndarray, img_hw: Tuple[int, int]) -> BitmapMasks:
    """One filled-rectangle bitmap (N, H, W) per xyxy box."""
    h, w = img_hw
    masks = np.zeros((len(bboxes), h, w), dtype=np.uint8)
    for i, (x1, y1, x2, y2) in enumerate(bboxes.astype(int)):
        masks[i, y1:y2, x1:x2] = 1
    return BitmapMasks(masks, h, w)


def _bitmaps(masks: Union[BitmapMasks, PolygonMasks]) -> BitmapMasks:
    return masks.to_bitmap() if isinstance(masks, PolygonMasks) else masks


@TRANSFORMS.register_module()
class CopyPaste:
    """Simple Copy-Paste (Ghiasi et al. 2021): paste random objects of another sample of the
    same size onto this one.

    Pasted pixels hide what is under them: this sample's masks lose those pixels, their boxes
    are recomputed from the masks, and objects that lost most of themselves are dropped (an
    object stays if every box side moved at most ``bbox_occluded_thr`` pixels or more than
    ``mask_occluded_thr`` mask pixels remain). The pasted objects' boxes, labels and masks are
    appended. Without ``gt_masks`` the boxes serve as masks and no masks are output.

    Args:
        max_num_pasted: the number of pasted objects is drawn from
            [0, min(n + 1, max_num_pasted)), n the objects of the other sample.
        bbox_occluded_thr: box-side shift (pixels) still counted as visible.
        mask_occluded_thr: mask pixels still counted as visible.
        selected: paste a random subset (else every object).
    """

    def __init__(self, max_num_pasted: int = 100, bbox_occluded_thr: int = 10,
                 mask_occluded_thr: int = 300, selected: bool = True):
        self.max_num_pasted = max_num_pasted
        self.bbox_occluded_thr = bbox_occluded_thr
        self.mask_occluded_thr = mask_occluded_thr
        self.selected = selected

    def get_indexes(self, dataset) -> int:
        """One random dataset index (the source of pasted objects)."""
        return np.random.randint(0, len(dataset))

    def _instances(self, results: dict) -> Tuple[np.ndarray, np.ndarray, BitmapMasks]:
        boxes = _boxes(results, 'gt_bboxes')
        labels = np.asarray(results['gt_labels'], np.int64).reshape(-1)
        masks = results.get('gt_masks')
        masks = _masks_from_boxes(boxes, results['img'].shape[:2]) if masks is None \
            else _bitmaps(masks)
        return boxes, labels, masks

    def __call__(self, results: dict) -> dict:
        src = _mix_results(results, 'CopyPaste', 1)[0]
        by_box = results.get('gt_masks') is None
        if src['img'].shape != results['img'].shape:
            raise ValueError(f"CopyPaste needs images of one size, got {results['img'].shape} "
                             f"and {src['img'].shape}; crop/pad both to a fixed size first "
                             '(Resize + RandomCrop + Pad(size=...))')
        dst_boxes, dst_labels, dst_masks = self._instances(results)
        src_boxes, src_labels, src_masks = self._instances(src)
        if self.selected:
            num = np.random.randint(0, min(len(src_boxes) + 1, self.max_num_pasted))
            chosen = np.random.choice(len(src_boxes), size=num, replace=False)
            src_boxes, src_labels, src_masks = src_boxes[chosen], src_labels[chosen], \
                src_masks[chosen]
        if len(src_boxes) == 0:
            return results
        pasted = src_masks.masks.any(axis=0)
        visible = np.where(pasted, 0, dst_masks.masks).astype(np.uint8)
        visible_masks = BitmapMasks(visible, dst_masks.height, dst_masks.width)
        visible_boxes = visible_masks.get_bboxes()
        keep = (np.all(np.abs(visible_boxes - dst_boxes) <= self.bbox_occluded_thr, axis=-1)
                | (visible_masks.areas > self.mask_occluded_thr))
        img = results['img']
        results['img'] = np.where(pasted[..., None], src['img'], img).astype(img.dtype)
        results['gt_bboxes'] = np.concatenate([visible_boxes[keep], src_boxes]).astype(np.float32)
        results['gt_labels'] = np.concatenate([dst_labels[keep], src_labels])
        if not by_box:
            results['gt_masks'] = BitmapMasks(
                np.concatenate([visible[keep], src_masks.masks]), dst_masks.height,
                dst_masks.width)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(max_num_pasted={self.max_num_pasted}, '
                f'bbox_occluded_thr={self.bbox_occluded_thr}, mask_occluded_thr='
                f'{self.mask_occluded_thr}, selected={self.selected})')
