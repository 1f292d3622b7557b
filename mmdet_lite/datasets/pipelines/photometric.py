"""Transforms that change pixel values only (mmdetection 2.x names): boxes, masks and maps
are untouched.

``PhotoMetricDistortion`` (SSD), ``YOLOXHSVRandomAug`` (YOLOX), ``CutOut``, and AutoAugment's
``ColorTransform``, ``BrightnessTransform``, ``ContrastTransform``, ``EqualizeTransform``.
"""
from abc import ABCMeta, abstractmethod
from typing import List, Sequence, Tuple, Union

import cv2
import mmcv
import numpy as np

from ...registry import TRANSFORMS
from .auto_augment import check_level_prob, enhance_level_to_value
from .instance_fields import single_image
from ...core.utils.errors import ConfigValueError


@TRANSFORMS.register_module()
class PhotoMetricDistortion:
    """Random brightness, contrast (first or last), saturation, hue and channel swap.

    Each step happens with probability 0.5, as in 2.x. The image (BGR) is converted to
    float32; the output is float32.
    """

    def __init__(self, brightness_delta: int = 32, contrast_range: Tuple[float, float] = (0.5, 1.5),
                 saturation_range: Tuple[float, float] = (0.5, 1.5), hue_delta: int = 18):
        self.brightness_delta = brightness_delta
        self.contrast_lower, self.contrast_upper = contrast_range
        self.saturation_lower, self.saturation_upper = saturation_range
        self.hue_delta = hue_delta

    def _contrast(self, img: np.ndarray) -> np.ndarray:
        if np.random.randint(2):
            img = img * np.random.uniform(self.contrast_lower, self.contrast_upper)
        return img

    def __call__(self, results: dict) -> dict:
        img = single_image(results, 'PhotoMetricDistortion').astype(np.float32)
        if np.random.randint(2):
            img = img + np.random.uniform(-self.brightness_delta, self.brightness_delta)
        contrast_first = np.random.randint(2) == 1
        if contrast_first:
            img = self._contrast(img)
        img = mmcv.bgr2hsv(img.astype(np.float32))
        if np.random.randint(2):
            img[..., 1] *= np.random.uniform(self.saturation_lower, self.saturation_upper)
        if np.random.randint(2):
            img[..., 0] += np.random.uniform(-self.hue_delta, self.hue_delta)
            img[..., 0] %= 360
        img = mmcv.hsv2bgr(img)
        if not contrast_first:
            img = self._contrast(img)
        if np.random.randint(2):
            img = img[..., np.random.permutation(3)]
        results['img'] = np.ascontiguousarray(img, dtype=np.float32)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(brightness_delta={self.brightness_delta}, '
                f'contrast_range=({self.contrast_lower}, {self.contrast_upper}), '
                f'saturation_range=({self.saturation_lower}, {self.saturation_upper}), '
                f'hue_delta={self.hue_delta})')


@TRANSFORMS.register_module()
class YOLOXHSVRandomAug:
    """YOLOX's HSV jitter on a uint8 BGR image: each of hue, saturation and value is, with
    probability 0.5, shifted by a uniform integer gain in (-delta, delta) (OpenCV's uint8
    hue range is [0, 180), so hue wraps; the others are clipped to [0, 255])."""

    def __init__(self, hue_delta: int = 5, saturation_delta: int = 30, value_delta: int = 30):
        self.hue_delta = hue_delta
        self.saturation_delta = saturation_delta
        self.value_delta = value_delta

    def __call__(self, results: dict) -> dict:
        img = results['img']
        if img.dtype != np.uint8:
            raise TypeError(f'YOLOXHSVRandomAug needs a uint8 image (got {img.dtype}); put it '
                            'before any float conversion (Normalize, PhotoMetricDistortion)')
        gains = np.random.uniform(-1, 1, 3) * [self.hue_delta, self.saturation_delta,
                                               self.value_delta]
        gains = (gains * np.random.randint(0, 2, 3)).astype(np.int16)
        hsv = cv2.cvtColor(img, cv2.COLOR_BGR2HSV).astype(np.int16)
        hsv[..., 0] = (hsv[..., 0] + gains[0]) % 180
        hsv[..., 1] = np.clip(hsv[..., 1] + gains[1], 0, 255)
        hsv[..., 2] = np.clip(hsv[..., 2] + gains[2], 0, 255)
        results['img'] = cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2BGR)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(hue_delta={self.hue_delta}, saturation_delta='
                f'{self.saturation_delta}, value_delta={self.value_delta})')


@TRANSFORMS.register_module()
class CutOut:
    """Fill random rectangles of the image with ``fill_in`` (Cutout, DeVries & Taylor 2017).

    Args:
        n_holes: number of holes, or (min, max) drawn inclusively.
        cutout_shape: (w, h) in pixels or a list to choose from; exclusive with
            ``cutout_ratio``.
        cutout_ratio: (w, h) as fractions of the image or a list to choose from.
        fill_in: the fill value per channel.
    """

    def __init__(self, n_holes: Union[int, Tuple[int, int]],
                 cutout_shape: Union[None, Tuple[int, int], List[Tuple[int, int]]] = None,
                 cutout_ratio: Union[None, Tuple[float, float], List[Tuple[float, float]]] = None,
                 fill_in: Sequence[float] = (0, 0, 0)):
        if (cutout_shape is None) == (cutout_ratio is None):
            raise ConfigValueError('CutOut needs exactly one of cutout_shape and cutout_ratio')
        if isinstance(n_holes, (tuple, list)):
            if not (len(n_holes) == 2 and 0 <= n_holes[0] < n_holes[1]):
                raise ConfigValueError(f'CutOut n_holes must be an int or (min, max) with '
                                       f'0 <= min < max, got {n_holes}')
            n_holes = tuple(n_holes)
        else:
            n_holes = (n_holes, n_holes)
        self.n_holes = n_holes
        self.fill_in = fill_in
        self.with_ratio = cutout_ratio is not None
        candidates = cutout_ratio if self.with_ratio else cutout_shape
        self.candidates = candidates if isinstance(candidates, list) else [candidates]
        if not all(isinstance(c, tuple) and len(c) == 2 for c in self.candidates):
            name = 'cutout_ratio' if self.with_ratio else 'cutout_shape'
            raise ConfigValueError(f'CutOut {name}={candidates!r}: give a (w, h) tuple or a list '
                                   'of them')

    def __call__(self, results: dict) -> dict:
        img = results['img']
        h, w = img.shape[:2]
        for _ in range(np.random.randint(self.n_holes[0], self.n_holes[1] + 1)):
            x1, y1 = np.random.randint(0, w), np.random.randint(0, h)
            cw, ch = self.candidates[np.random.randint(0, len(self.candidates))]
            if self.with_ratio:
                cw, ch = int(cw * w), int(ch * h)
            img[y1:min(y1 + ch, h), x1:min(x1 + cw, w)] = self.fill_in
        results['img'] = img
        return results

    def __repr__(self) -> str:
        kind = 'cutout_ratio' if self.with_ratio else 'cutout_shape'
        return (f'{self.__class__.__name__}(n_holes={self.n_holes}, {kind}={self.candidates}, '
                f'fill_in={self.fill_in})')


class _EnhanceTransform(metaclass=ABCMeta):
    """An AutoAugment photometric op: ``mmcv.<adjust>(img, factor)`` with probability ``prob``,
    ``factor = level / 10 * 1.8 + 0.1`` (1.0 at level 5 leaves the image as it is)."""

    def __init__(self, level: float, prob: float = 0.5):
        check_level_prob(self.__class__.__name__, level, prob)
        self.level = level
        self.prob = prob
        self.factor = enhance_level_to_value(level)

    @abstractmethod
    def _adjust(self, img: np.ndarray) -> np.ndarray:
        """The adjusted image (same shape) for ``self.factor``."""

    def __call__(self, results: dict) -> dict:
        if np.random.rand() > self.prob:
            return results
        for key in results.get('img_fields', ['img']):
            img = results[key]
            results[key] = self._adjust(img).astype(img.dtype)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(level={self.level}, prob={self.prob})'


@TRANSFORMS.register_module()
class ColorTransform(_EnhanceTransform):
    """Blend the image with its grey version (``mmcv.adjust_color``)."""

    def _adjust(self, img: np.ndarray) -> np.ndarray:
        return mmcv.adjust_color(img, self.factor)


@TRANSFORMS.register_module()
class BrightnessTransform(_EnhanceTransform):
    """Scale brightness (``mmcv.adjust_brightness``)."""

    def _adjust(self, img: np.ndarray) -> np.ndarray:
        return mmcv.adjust_brightness(img, self.factor)


@TRANSFORMS.register_module()
class ContrastTransform(_EnhanceTransform):
    """Scale contrast about the mean grey level (``mmcv.adjust_contrast``)."""

    def _adjust(self, img: np.ndarray) -> np.ndarray:
        return mmcv.adjust_contrast(img, self.factor)


@TRANSFORMS.register_module()
class EqualizeTransform:
    """Equalise each channel's histogram (``mmcv.imequalize``) with probability ``prob``."""

    def __init__(self, prob: float = 0.5):
        check_level_prob('EqualizeTransform', None, prob)
        self.prob = prob

    def __call__(self, results: dict) -> dict:
        if np.random.rand() > self.prob:
            return results
        for key in results.get('img_fields', ['img']):
            img = results[key]
            results[key] = mmcv.imequalize(img).astype(img.dtype)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(prob={self.prob})'
