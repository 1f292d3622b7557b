"""Random crops (mmdetection 2.x ``RandomCrop``, ``MinIoURandomCrop``, ``RandomCenterCropPad``).

A crop moves boxes into the crop's frame and drops the boxes left with no area (or whose
centre falls outside, for the SSD and CenterNet crops) together with their labels and masks
(``instance_fields``). Random numbers come from ``np.random`` as in 2.x, so ``np.random.seed``
makes a pipeline repeat.
"""
from typing import Optional, Sequence, Tuple

import numpy as np

from ...core.evaluation.bbox_overlaps import bbox_overlaps
from ...registry import TRANSFORMS
from .instance_fields import (BBOX2MASK, centers_inside, clip_bboxes, keep_instances,
                              non_degenerate, single_image)
from ...core.utils.errors import ConfigValueError

_CROP_TYPES = ('relative_range', 'relative', 'absolute', 'absolute_range')


def _crop_seg_fields(results: dict, x1: int, y1: int, x2: int, y2: int) -> None:
    for key in results.get('seg_fields', []):
        results[key] = results[key][y1:y2, x1:x2]


@TRANSFORMS.register_module()
class RandomCrop:
    """Crop a random window of ``crop_size`` from images, boxes, masks and maps.

    Args:
        crop_size: (h, w); pixels for ``crop_type`` 'absolute' / 'absolute_range', fractions of
            the image in (0, 1] for 'relative' / 'relative_range'.
        crop_type: 'absolute' crops min(crop_size, image); 'absolute_range' samples h and w in
            [crop_size[0], min(image side, crop_size[1])]; 'relative' crops
            (h * crop_size[0], w * crop_size[1]); 'relative_range' samples the fractions in
            [crop_size[i], 1].
        allow_negative_crop: keep a crop that holds no ground-truth box; otherwise the sample is
            dropped (the transform returns ``None`` and the dataset draws another image, as in
            2.x), which also happens to an image without ground truth.
        recompute_bbox: take the boxes from the cropped masks instead of clipping them.
        bbox_clip_border: clip boxes to the crop.
    """

    def __init__(self, crop_size: Tuple[float, float], crop_type: str = 'absolute',
                 allow_negative_crop: bool = False, recompute_bbox: bool = False,
                 bbox_clip_border: bool = True):
        if crop_type not in _CROP_TYPES:
            raise ValueError(f'RandomCrop crop_type must be one of {_CROP_TYPES}, '
                             f'got {crop_type!r}')
        if crop_type.startswith('absolute'):
            if not all(isinstance(s, (int, np.integer)) and s > 0 for s in crop_size):
                raise ConfigValueError(
                    f'RandomCrop({crop_type!r}) needs positive integer pixel sizes '
                    f'(h, w), got crop_size={crop_size}')
            if crop_type == 'absolute_range' and crop_size[0] > crop_size[1]:
                raise ValueError(f"RandomCrop('absolute_range') needs crop_size = (min, max), "
                                 f'got {crop_size}')
        elif not all(0 < s <= 1 for s in crop_size):
            raise ConfigValueError(f'RandomCrop({crop_type!r}) needs fractions in (0, 1], '
                                   f'got crop_size={crop_size}')
        self.crop_size = crop_size
        self.crop_type = crop_type
        self.allow_negative_crop = allow_negative_crop
        self.recompute_bbox = recompute_bbox
        self.bbox_clip_border = bbox_clip_border

    def _get_crop_size(self, image_hw: Tuple[int, int]) -> Tuple[int, int]:
        """(crop_h, crop_w) in pixels for an image of ``image_hw``."""
        h, w = image_hw
        if self.crop_type == 'absolute':
            return min(self.crop_size[0], h), min(self.crop_size[1], w)
        if self.crop_type == 'absolute_range':
            lo, hi = self.crop_size
            return (np.random.randint(min(h, lo), min(h, hi) + 1),
                    np.random.randint(min(w, lo), min(w, hi) + 1))
        fractions = np.asarray(self.crop_size, dtype=np.float32)
        if self.crop_type == 'relative_range':
            fractions = fractions + np.random.rand(2) * (1 - fractions)
        return int(h * fractions[0] + 0.5), int(w * fractions[1] + 0.5)

    def _crop(self, results: dict, crop_hw: Tuple[int, int]) -> Optional[dict]:
        img_h, img_w = results['img'].shape[:2]
        off_h = np.random.randint(0, max(img_h - crop_hw[0], 0) + 1)
        off_w = np.random.randint(0, max(img_w - crop_hw[1], 0) + 1)
        x1, y1, x2, y2 = off_w, off_h, off_w + crop_hw[1], off_h + crop_hw[0]
        for key in results.get('img_fields', ['img']):
            results[key] = results[key][y1:y2, x1:x2, ...]
        results['img_shape'] = results['img'].shape
        new_hw = results['img_shape'][:2]
        for key in results.get('bbox_fields', []):
            bboxes = results[key] - np.array([x1, y1, x1, y1], dtype=np.float32)
            if self.bbox_clip_border:
                bboxes = clip_bboxes(bboxes, new_hw)
            results[key] = bboxes
            valid = non_degenerate(bboxes)
            if key == 'gt_bboxes' and not valid.any() and not self.allow_negative_crop:
                return None
            keep_instances(results, key, valid)
            mask_key = BBOX2MASK.get(key)
            if mask_key in results and results[mask_key] is not None:
                results[mask_key] = results[mask_key].crop(np.asarray([x1, y1, x2, y2]))
                if self.recompute_bbox:
                    results[key] = results[mask_key].get_bboxes()
        _crop_seg_fields(results, x1, y1, x2, y2)
        return results

    def __call__(self, results: dict) -> Optional[dict]:
        return self._crop(results, self._get_crop_size(results['img'].shape[:2]))

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(crop_size={self.crop_size}, crop_type='
                f"'{self.crop_type}', allow_negative_crop={self.allow_negative_crop}, "
                f'recompute_bbox={self.recompute_bbox}, bbox_clip_border={self.bbox_clip_border})')


@TRANSFORMS.register_module()
class MinIoURandomCrop:
    """SSD's crop: a random patch whose IoU with every box is at least a random threshold.

    The threshold is drawn from ``(1, *min_ious, 0)``; 1 keeps the image as it is. Patches
    have sides of at least ``min_crop_size`` of the image and an aspect ratio h/w in [0.5, 2];
    boxes whose centre lies outside the patch are dropped with their labels and masks.
    The IoU test covers every box of ``bbox_fields`` (ignore boxes too), as in 2.x.

    Args:
        min_ious: candidate IoU thresholds.
        min_crop_size: smallest patch side as a fraction of the image side.
        bbox_clip_border: clip the kept boxes to the patch.
    """

    def __init__(self, min_ious: Sequence[float] = (0.1, 0.3, 0.5, 0.7, 0.9),
                 min_crop_size: float = 0.3, bbox_clip_border: bool = True):
        self.min_ious = min_ious
        self.sample_mode = (1, *min_ious, 0)
        self.min_crop_size = min_crop_size
        self.bbox_clip_border = bbox_clip_border

    def _random_patch(self, h: int, w: int) -> Optional[np.ndarray]:
        """An int patch (x1, y1, x2, y2) of admissible size and aspect ratio, or None."""
        new_w = np.random.uniform(self.min_crop_size * w, w)
        new_h = np.random.uniform(self.min_crop_size * h, h)
        if not 0.5 <= new_h / new_w <= 2:
            return None
        left = np.random.uniform(w - new_w)
        top = np.random.uniform(h - new_h)
        patch = np.array((int(left), int(top), int(left + new_w), int(top + new_h)))
        if patch[2] == patch[0] or patch[3] == patch[1]:
            return None
        return patch

    def _apply(self, results: dict, patch: np.ndarray, with_boxes: bool) -> dict:
        if with_boxes:
            for key in results.get('bbox_fields', []):
                inside = centers_inside(results[key], patch)
                keep_instances(results, key, inside)
                boxes = results[key].copy()
                if self.bbox_clip_border:
                    boxes[:, 2:] = boxes[:, 2:].clip(max=patch[2:])
                    boxes[:, :2] = boxes[:, :2].clip(min=patch[:2])
                results[key] = (boxes - np.tile(patch[:2], 2)).astype(np.float32)
                mask_key = BBOX2MASK.get(key)
                if mask_key in results and results[mask_key] is not None:
                    results[mask_key] = results[mask_key].crop(patch)
        x1, y1, x2, y2 = (int(v) for v in patch)
        results['img'] = results['img'][y1:y2, x1:x2]
        results['img_shape'] = results['img'].shape
        _crop_seg_fields(results, x1, y1, x2, y2)
        return results

    def __call__(self, results: dict) -> dict:
        img = single_image(results, 'MinIoURandomCrop')
        boxes = np.concatenate([results[k].reshape(-1, 4) for k in results.get('bbox_fields', [])]
                               or [np.zeros((0, 4), np.float32)])
        h, w = img.shape[:2]
        while True:
            mode = self.sample_mode[np.random.randint(len(self.sample_mode))]
            self.mode = mode  # 2.x: the last drawn mode (1: no crop, else the min IoU)
            if mode == 1:
                return results
            for _ in range(50):
                patch = self._random_patch(h, w)
                if patch is None:
                    continue
                overlaps = bbox_overlaps(patch.reshape(-1, 4), boxes).reshape(-1)
                if len(overlaps) and overlaps.min() < mode:
                    continue
                if len(overlaps) and not centers_inside(boxes, patch).any():
                    continue
                return self._apply(results, patch, with_boxes=len(overlaps) > 0)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(min_ious={self.min_ious}, min_crop_size='
                f'{self.min_crop_size}, bbox_clip_border={self.bbox_clip_border})')


@TRANSFORMS.register_module()
class RandomCenterCropPad:
    """CornerNet/CenterNet crop: a window centred on a random point, padded with ``mean``.

    Train mode: the output is ``crop_size * ratio`` (ratio drawn from ``ratios``) centred on a
    random point at least ``border`` (shrunk for small images) from the image edge; boxes whose
    centre falls outside the window are dropped. Test mode: the whole image is centred on a
    canvas of size ``h | 127`` (``test_pad_mode=('logical_or', 127)``) or the next multiple of
    a divisor (``('size_divisor', d)``), plus ``test_pad_add_pix``; ``results['border']`` holds
    (top, bottom, left, right) of the image inside the canvas.
    Boxes only, as in 2.x: instance masks or segmentation maps in train mode are an error.

    Args:
        crop_size: (h, w) in train mode; None in test mode.
        ratios: candidate scales of ``crop_size`` (train); None in test mode.
        border: margin kept between the random centre and the image edge (train).
        mean, std, to_rgb: the ``Normalize`` settings (the pad value is ``mean``, in the
            image's channel order).
        test_mode: no randomness, pad only.
        test_pad_mode: ('logical_or', value) or ('size_divisor', value); None in train mode.
        test_pad_add_pix: extra pixels added to the test canvas (CenterNet: 1).
        bbox_clip_border: clip boxes to the window.
    """

    def __init__(self, crop_size: Optional[Tuple[int, int]] = None,
                 ratios: Optional[Sequence[float]] = (0.9, 1.0, 1.1),
                 border: Optional[int] = 128, mean: Optional[Sequence[float]] = None,
                 std: Optional[Sequence[float]] = None, to_rgb: Optional[bool] = None,
                 test_mode: bool = False,
                 test_pad_mode: Optional[Tuple[str, int]] = ('logical_or', 127),
                 test_pad_add_pix: int = 0, bbox_clip_border: bool = True):
        if test_mode:
            if crop_size is not None or ratios is not None or border is not None:
                raise ConfigValueError('RandomCenterCropPad(test_mode=True) needs crop_size=None, '
                                       'ratios=None and border=None')
            if not (isinstance(test_pad_mode, (list, tuple))
                    and test_pad_mode[0] in ('logical_or', 'size_divisor')):
                raise ValueError("RandomCenterCropPad test_pad_mode must be ('logical_or', v) or "
                                 f"('size_divisor', v), got {test_pad_mode!r}")
        else:
            if not (isinstance(crop_size, (list, tuple)) and crop_size[0] > 0
                    and crop_size[1] > 0):
                raise ConfigValueError(
                    f'RandomCenterCropPad (train mode) needs crop_size=(h, w) > 0, '
                    f'got {crop_size!r}')
            if not isinstance(ratios, (list, tuple)):
                raise ConfigValueError(f'RandomCenterCropPad ratios must be a list, got {ratios!r}')
            if test_pad_mode is not None:
                raise ValueError('RandomCenterCropPad: test_pad_mode must be None in train mode')
        if mean is None or std is None or to_rgb is None:
            raise ConfigValueError('RandomCenterCropPad needs mean, std and to_rgb (the Normalize '
                                   'settings): the pad value is the mean pixel')
        self.crop_size = crop_size
        self.ratios = ratios
        self.border = border
        self.input_mean = mean
        self.input_std = std
        self.to_rgb = to_rgb
        # the image is still BGR here while mean/std are given in Normalize's (RGB) order
        self.mean = list(mean[::-1]) if to_rgb else list(mean)
        self.std = list(std[::-1]) if to_rgb else list(std)
        self.test_mode = test_mode
        self.test_pad_mode = test_pad_mode
        self.test_pad_add_pix = test_pad_add_pix
        self.bbox_clip_border = bbox_clip_border

    @staticmethod
    def _get_border(border: int, size: int) -> int:
        """``border`` divided by the smallest power of two larger than ``2 * border / size``,
        so that the centre range ``[b, size - b)`` is never empty."""
        k = 2 * border / size
        divisor = 1
        while divisor <= k:
            divisor *= 2
        return border // divisor

    def _crop_image_and_paste(self, image: np.ndarray, center: Tuple[int, int],
                              size: Tuple[int, int]) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Paste the part of ``image`` around ``center`` (y, x) into a ``size`` (h, w) canvas
        of ``mean`` with the two centres aligned.

        Returns:
            canvas (h, w, C); border (4,) float32 (top, bottom, left, right) of the pasted
            area in the canvas; patch (4,) int (x1, y1, x2, y2) of the pasted area in the image.
        """
        cy, cx = center
        target_h, target_w = size
        img_h, img_w, channels = image.shape
        x0, x1 = max(0, cx - target_w // 2), min(cx + target_w // 2, img_w)
        y0, y1 = max(0, cy - target_h // 2), min(cy + target_h // 2, img_h)
        patch = np.array((int(x0), int(y0), int(x1), int(y1)))
        left, right, top, bottom = cx - x0, x1 - cx, cy - y0, y1 - cy
        ccy, ccx = target_h // 2, target_w // 2
        canvas = np.empty((target_h, target_w, channels), dtype=image.dtype)
        canvas[...] = np.asarray(self.mean, dtype=image.dtype)
        canvas[ccy - top:ccy + bottom, ccx - left:ccx + right] = image[y0:y1, x0:x1]
        border = np.array([ccy - top, ccy + bottom, ccx - left, ccx + right], dtype=np.float32)
        return canvas, border, patch

    def _train_aug(self, results: dict) -> dict:
        if results.get('mask_fields') or results.get('seg_fields'):
            raise ValueError('RandomCenterCropPad handles boxes only (as in 2.x); remove '
                             'with_mask/with_seg from LoadAnnotations')
        img = results['img']
        h, w = img.shape[:2]
        boxes = results['gt_bboxes']
        h_border = self._get_border(self.border, h)
        w_border = self._get_border(self.border, w)
        while True:
            scale = self.ratios[np.random.randint(len(self.ratios))]
            new_h, new_w = int(self.crop_size[0] * scale), int(self.crop_size[1] * scale)
            for _ in range(50):
                cx = np.random.randint(low=w_border, high=w - w_border)
                cy = np.random.randint(low=h_border, high=h - h_border)
                canvas, _, patch = self._crop_image_and_paste(img, (cy, cx), (new_h, new_w))
                if len(boxes) and not centers_inside(boxes, patch).any():
                    continue
                results['img'] = canvas
                results['img_shape'] = canvas.shape
                results['pad_shape'] = canvas.shape
                shift = np.array([new_w // 2 - cx, new_h // 2 - cy] * 2, dtype=np.float32)
                for key in results.get('bbox_fields', []):
                    keep_instances(results, key, centers_inside(results[key], patch))
                    bboxes = results[key] + shift
                    if self.bbox_clip_border:
                        bboxes = clip_bboxes(bboxes, (new_h, new_w))
                    results[key] = bboxes
                    keep_instances(results, key, non_degenerate(bboxes))
                return results

    def _test_aug(self, results: dict) -> dict:
        img = results['img']
        h, w = img.shape[:2]
        results['img_shape'] = img.shape
        mode, value = self.test_pad_mode
        if mode == 'logical_or':
            target_h = (h | value) + self.test_pad_add_pix
            target_w = (w | value) + self.test_pad_add_pix
        else:
            target_h = int(np.ceil(h / value)) * value
            target_w = int(np.ceil(w / value)) * value
        canvas, border, _ = self._crop_image_and_paste(img, (h // 2, w // 2),
                                                       (target_h, target_w))
        results['img'] = canvas
        results['pad_shape'] = canvas.shape
        results['border'] = border
        return results

    def __call__(self, results: dict) -> dict:
        img = results['img']
        if img.dtype != np.float32:
            raise TypeError('RandomCenterCropPad needs a float32 image; load it with '
                            'LoadImageFromFile(to_float32=True)')
        if img.shape[2] != len(self.mean):
            raise ValueError(f'RandomCenterCropPad: mean has {len(self.mean)} values for an '
                             f'image of {img.shape[2]} channels')
        return self._test_aug(results) if self.test_mode else self._train_aug(results)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(crop_size={self.crop_size}, ratios={self.ratios}, '
                f'border={self.border}, mean={self.input_mean}, std={self.input_std}, '
                f'to_rgb={self.to_rgb}, test_mode={self.test_mode}, '
                f'test_pad_mode={self.test_pad_mode}, bbox_clip_border={self.bbox_clip_border})')
