"""Move the image on a canvas: ``Expand`` (SSD zoom-out) and ``RandomShift`` (YOLOF), 2.x names."""
from typing import Optional, Sequence, Tuple

import numpy as np

from ...registry import TRANSFORMS
from .instance_fields import BBOX2MASK, clip_bboxes, keep_instances, non_degenerate, single_image
from ...core.utils.errors import ConfigValueError


@TRANSFORMS.register_module()
class Expand:
    """Place the image at a random spot of a canvas ``ratio`` times larger, filled with ``mean``.

    Boxes and masks move with the image; segmentation maps are padded with
    ``seg_ignore_label``.

    Args:
        mean: fill value per channel, in Normalize's order (reversed when ``to_rgb``, since the
            image is still BGR here).
        to_rgb: whether ``mean`` is given in RGB order.
        ratio_range: (min, max) of the canvas-to-image side ratio.
        seg_ignore_label: fill value of segmentation maps (needed when there are any).
        prob: probability of expanding.
    """

    def __init__(self, mean: Sequence[float] = (0, 0, 0), to_rgb: bool = True,
                 ratio_range: Tuple[float, float] = (1, 4),
                 seg_ignore_label: Optional[int] = None, prob: float = 0.5):
        self.to_rgb = to_rgb
        self.ratio_range = ratio_range
        self.mean = tuple(mean[::-1]) if to_rgb else tuple(mean)
        self.min_ratio, self.max_ratio = ratio_range
        self.seg_ignore_label = seg_ignore_label
        self.prob = prob

    def __call__(self, results: dict) -> dict:
        if np.random.uniform(0, 1) > self.prob:
            return results
        img = single_image(results, 'Expand')
        h, w, c = img.shape
        ratio = np.random.uniform(self.min_ratio, self.max_ratio)
        new_h, new_w = int(h * ratio), int(w * ratio)
        canvas = np.empty((new_h, new_w, c), img.dtype)
        canvas[...] = np.asarray(self.mean, dtype=img.dtype)
        left = int(np.random.uniform(0, w * ratio - w))
        top = int(np.random.uniform(0, h * ratio - h))
        canvas[top:top + h, left:left + w] = img
        results['img'] = canvas
        results['img_shape'] = canvas.shape
        for key in results.get('bbox_fields', []):
            results[key] = results[key] + np.array([left, top, left, top], results[key].dtype)
        for key in results.get('mask_fields', []):
            results[key] = results[key].expand(new_h, new_w, top, left)
        for key in results.get('seg_fields', []):
            if self.seg_ignore_label is None:
                raise ValueError('Expand: the pipeline has segmentation maps '
                                 f'({results["seg_fields"]}); set seg_ignore_label (e.g. 255)')
            seg = results[key]
            out = np.full((new_h, new_w), self.seg_ignore_label, dtype=seg.dtype)
            out[top:top + h, left:left + w] = seg
            results[key] = out
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(mean={self.mean}, to_rgb={self.to_rgb}, '
                f'ratio_range={self.ratio_range}, seg_ignore_label={self.seg_ignore_label}, '
                f'prob={self.prob})')


@TRANSFORMS.register_module()
class RandomShift:
    """Shift the image by up to ``max_shift_px`` pixels in x and y with probability
    ``shift_ratio``; the uncovered border is 0.

    Boxes are shifted and clipped, and those no wider or taller than ``filter_thr_px`` are
    dropped with their labels and masks. If no ground-truth box would remain, the sample is
    left unshifted (2.x); an image without ground truth is therefore never shifted. Unlike 2.x,
    which left them in place, masks and segmentation maps (filled with 255) move too.

    Args:
        shift_ratio: probability of shifting.
        max_shift_px: the shift is drawn from [-max_shift_px, max_shift_px).
        filter_thr_px: minimum box width and height kept.
    """

    def __init__(self, shift_ratio: float = 0.5, max_shift_px: int = 32, filter_thr_px: int = 1):
        if not 0 <= shift_ratio <= 1:
            raise ConfigValueError(f'RandomShift shift_ratio must be in [0, 1], got {shift_ratio}')
        if max_shift_px < 0:
            raise ConfigValueError(f'RandomShift max_shift_px must be >= 0, got {max_shift_px}')
        self.shift_ratio = shift_ratio
        self.max_shift_px = max_shift_px
        self.filter_thr_px = int(filter_thr_px)

    @staticmethod
    def _shift_array(arr: np.ndarray, dx: int, dy: int, fill) -> np.ndarray:
        out = np.full_like(arr, fill)
        h, w = arr.shape[:2]
        new_h, new_w = h - abs(dy), w - abs(dx)
        if new_h > 0 and new_w > 0:
            out[max(dy, 0):max(dy, 0) + new_h, max(dx, 0):max(dx, 0) + new_w] = \
                arr[max(-dy, 0):max(-dy, 0) + new_h, max(-dx, 0):max(-dx, 0) + new_w]
        return out

    def __call__(self, results: dict) -> dict:
        if np.random.random() >= self.shift_ratio:
            return results
        img_hw = results['img'].shape[:2]
        dx = np.random.randint(-self.max_shift_px, self.max_shift_px)
        dy = np.random.randint(-self.max_shift_px, self.max_shift_px)
        shifted, keeps = {}, {}
        for key in results.get('bbox_fields', []):
            bboxes = clip_bboxes(results[key] + np.array([dx, dy, dx, dy], np.float32), img_hw)
            keeps[key] = non_degenerate(bboxes, self.filter_thr_px)
            shifted[key] = bboxes
            if key == 'gt_bboxes' and not keeps[key].any():
                return results
        for key, bboxes in shifted.items():
            results[key] = bboxes
            mask_key = BBOX2MASK.get(key)
            if mask_key in results and results[mask_key] is not None:
                results[mask_key] = (results[mask_key]
                                     .translate(img_hw, dx, 'horizontal')
                                     .translate(img_hw, dy, 'vertical'))
            keep_instances(results, key, keeps[key])
        for key in results.get('img_fields', ['img']):
            results[key] = self._shift_array(results[key], dx, dy, 0)
        for key in results.get('seg_fields', []):
            results[key] = self._shift_array(results[key], dx, dy, 255)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(shift_ratio={self.shift_ratio}, '
                f'max_shift_px={self.max_shift_px}, filter_thr_px={self.filter_thr_px})')
