"""AutoAugment's geometric transforms (mmdetection 2.x ``Rotate``, ``Shear``, ``Translate``).

Image, boxes (the box around the moved corners, clipped), masks and segmentation maps move
together; boxes left with no area are dropped with their labels and masks. Label maps are
resampled with nearest-neighbour interpolation (2.x used bilinear, which invents labels at
region borders).
"""
from typing import Tuple, Union

import cv2
import mmcv
import numpy as np

from ...registry import TRANSFORMS
from .auto_augment import check_level_prob, check_magnitude, level_to_value, random_negative
from .instance_fields import keep_instances, non_degenerate
from ...core.utils.errors import ConfigValueError

FillValue = Union[int, float, Tuple[float, float, float]]
Center = Union[None, float, Tuple[float, float]]
_DIRECTIONS = ('horizontal', 'vertical')


def _img_fill(transform: str, img_fill_val: FillValue) -> Tuple[float, float, float]:
    if isinstance(img_fill_val, (int, float)):
        fill = (float(img_fill_val),) * 3
    elif isinstance(img_fill_val, (tuple, list)) and len(img_fill_val) == 3:
        fill = tuple(float(v) for v in img_fill_val)
    else:
        raise ConfigValueError(f'{transform}: img_fill_val must be a number or 3 numbers, '
                               f'got {img_fill_val!r}')
    if not all(0 <= v <= 255 for v in fill):
        raise ConfigValueError(
            f'{transform}: img_fill_val must lie in [0, 255], got {img_fill_val!r}')
    return fill


def _check_direction(transform: str, direction: str) -> None:
    if direction not in _DIRECTIONS:
        raise ConfigValueError(f'{transform}: direction must be one of {_DIRECTIONS}, '
                               f'got {direction!r}')


def _warp_bbox_corners(bboxes: np.ndarray, matrix: np.ndarray,
                       img_hw: Tuple[int, int]) -> np.ndarray:
    """The clipped xyxy box (n, 4) around the four corners of each box mapped by ``matrix``
    (2x3 affine)."""
    x1, y1, x2, y2 = (bboxes[:, i] for i in range(4))
    corners = np.stack([np.stack([x1, y1], -1), np.stack([x2, y1], -1),
                        np.stack([x1, y2], -1), np.stack([x2, y2], -1)], axis=1)  # (n, 4, 2)
    moved = corners @ matrix[:, :2].T + matrix[:, 2]
    h, w = img_hw
    min_x = np.clip(moved[..., 0].min(1), 0, w)
    min_y = np.clip(moved[..., 1].min(1), 0, h)
    max_x = np.clip(moved[..., 0].max(1), min_x, w)
    max_y = np.clip(moved[..., 1].max(1), min_y, h)
    return np.stack([min_x, min_y, max_x, max_y], axis=-1).astype(bboxes.dtype)


def _drop_empty_boxes(results: dict, min_size: float = 0) -> None:
    for key in results.get('bbox_fields', []):
        keep_instances(results, key, non_degenerate(results[key], min_size))


@TRANSFORMS.register_module()
class Rotate:
    """Rotate by ``level / 10 * max_rotate_angle`` degrees (clockwise, or anticlockwise with
    probability ``random_negative_prob``) about ``center``, with probability ``prob``.

    Args:
        level: magnitude level in [0, 10].
        scale: isotropic scale (``mmcv.imrotate``).
        center: (x, y) rotation centre; default the image centre ((w - 1) / 2, (h - 1) / 2).
        img_fill_val: image border value.
        seg_ignore_label: segmentation-map border value.
        prob: probability of rotating.
        max_rotate_angle: angle at level 10.
        random_negative_prob: probability of the opposite direction.
    """

    def __init__(self, level: float, scale: float = 1, center: Center = None,
                 img_fill_val: FillValue = 128, seg_ignore_label: int = 255, prob: float = 0.5,
                 max_rotate_angle: float = 30, random_negative_prob: float = 0.5):
        check_level_prob('Rotate', level, prob)
        check_magnitude('Rotate', 'max_rotate_angle', max_rotate_angle)
        check_magnitude('Rotate', 'scale', scale)
        if isinstance(center, (int, float)):
            center = (center, center)
        elif center is not None and not (isinstance(center, (tuple, list)) and len(center) == 2):
            raise ConfigValueError(
                f'Rotate: center must be None, a number or (x, y), got {center!r}')
        self.level = level
        self.scale = scale
        self.angle = level_to_value(level, max_rotate_angle)
        self.center = tuple(center) if center is not None else None
        self.img_fill_val = _img_fill('Rotate', img_fill_val)
        self.seg_ignore_label = seg_ignore_label
        self.prob = prob
        self.max_rotate_angle = max_rotate_angle
        self.random_negative_prob = random_negative_prob

    def __call__(self, results: dict) -> dict:
        if np.random.rand() > self.prob:
            return results
        h, w = results['img'].shape[:2]
        center = self.center or ((w - 1) * 0.5, (h - 1) * 0.5)
        angle = random_negative(self.angle, self.random_negative_prob)
        for key in results.get('img_fields', ['img']):
            img = results[key]
            results[key] = mmcv.imrotate(img, angle, center, self.scale,
                                         border_value=self.img_fill_val).astype(img.dtype)
        matrix = cv2.getRotationMatrix2D(center, -angle, self.scale)
        for key in results.get('bbox_fields', []):
            results[key] = _warp_bbox_corners(results[key], matrix, (h, w))
        for key in results.get('mask_fields', []):
            results[key] = results[key].rotate((h, w), angle, center, self.scale, fill_val=0)
        for key in results.get('seg_fields', []):
            seg = results[key]
            results[key] = mmcv.imrotate(seg, angle, center, self.scale,
                                         border_value=self.seg_ignore_label,
                                         interpolation='nearest').astype(seg.dtype)
        _drop_empty_boxes(results)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(level={self.level}, scale={self.scale}, '
                f'center={self.center}, img_fill_val={self.img_fill_val}, seg_ignore_label='
                f'{self.seg_ignore_label}, prob={self.prob}, max_rotate_angle='
                f'{self.max_rotate_angle}, random_negative_prob={self.random_negative_prob})')


@TRANSFORMS.register_module()
class Shear:
    """Shear by magnitude ``level / 10 * max_shear_magnitude`` (x' = x + m*y when
    'horizontal', y' = y + m*x when 'vertical'; m negated with probability
    ``random_negative_prob``), with probability ``prob``.

    Args:
        level: magnitude level in [0, 10].
        img_fill_val: image border value.
        seg_ignore_label: segmentation-map border value.
        prob: probability of shearing.
        direction: 'horizontal' or 'vertical'.
        max_shear_magnitude: magnitude at level 10, in [0, 1].
        random_negative_prob: probability of a negative magnitude.
        interpolation: image and mask interpolation (``mmcv.imshear``).
    """

    def __init__(self, level: float, img_fill_val: FillValue = 128, seg_ignore_label: int = 255,
                 prob: float = 0.5, direction: str = 'horizontal',
                 max_shear_magnitude: float = 0.3, random_negative_prob: float = 0.5,
                 interpolation: str = 'bilinear'):
        check_level_prob('Shear', level, prob)
        _check_direction('Shear', direction)
        check_magnitude('Shear', 'max_shear_magnitude', max_shear_magnitude)
        if not 0 <= max_shear_magnitude <= 1:
            raise ConfigValueError(f'Shear: max_shear_magnitude must be in [0, 1], '
                                   f'got {max_shear_magnitude}')
        self.level = level
        self.magnitude = level_to_value(level, max_shear_magnitude)
        self.img_fill_val = _img_fill('Shear', img_fill_val)
        self.seg_ignore_label = seg_ignore_label
        self.prob = prob
        self.direction = direction
        self.max_shear_magnitude = max_shear_magnitude
        self.random_negative_prob = random_negative_prob
        self.interpolation = interpolation

    def __call__(self, results: dict) -> dict:
        if np.random.rand() > self.prob:
            return results
        magnitude = random_negative(self.magnitude, self.random_negative_prob)
        h, w = results['img'].shape[:2]
        for key in results.get('img_fields', ['img']):
            img = results[key]
            results[key] = mmcv.imshear(img, magnitude, self.direction,
                                        border_value=self.img_fill_val,
                                        interpolation=self.interpolation).astype(img.dtype)
        if self.direction == 'horizontal':
            matrix = np.array([[1, magnitude, 0], [0, 1, 0]], dtype=np.float32)
        else:
            matrix = np.array([[1, 0, 0], [magnitude, 1, 0]], dtype=np.float32)
        for key in results.get('bbox_fields', []):
            results[key] = _warp_bbox_corners(results[key], matrix, (h, w))
        for key in results.get('mask_fields', []):
            results[key] = results[key].shear((h, w), magnitude, self.direction,
                                              border_value=0, interpolation=self.interpolation)
        for key in results.get('seg_fields', []):
            seg = results[key]
            results[key] = mmcv.imshear(seg, magnitude, self.direction,
                                        border_value=self.seg_ignore_label,
                                        interpolation='nearest').astype(seg.dtype)
        _drop_empty_boxes(results)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(level={self.level}, img_fill_val='
                f'{self.img_fill_val}, seg_ignore_label={self.seg_ignore_label}, prob='
                f'{self.prob}, direction={self.direction}, max_shear_magnitude='
                f'{self.max_shear_magnitude}, random_negative_prob={self.random_negative_prob}, '
                f'interpolation={self.interpolation})')


@TRANSFORMS.register_module()
class Translate:
    """Shift by ``int(level / 10 * max_translate_offset)`` pixels along ``direction``
    (negated with probability ``random_negative_prob``), with probability ``prob``.

    Boxes are clipped to the image; boxes no larger than ``min_size`` are dropped with their
    labels and masks.

    Args:
        level: magnitude level in [0, 10].
        prob: probability of translating.
        img_fill_val: image border value.
        seg_ignore_label: segmentation-map border value.
        direction: 'horizontal' or 'vertical'.
        max_translate_offset: offset in pixels at level 10.
        random_negative_prob: probability of a negative offset.
        min_size: minimum box width and height kept.
    """

    def __init__(self, level: float, prob: float = 0.5, img_fill_val: FillValue = 128,
                 seg_ignore_label: int = 255, direction: str = 'horizontal',
                 max_translate_offset: float = 250., random_negative_prob: float = 0.5,
                 min_size: float = 0):
        check_level_prob('Translate', level, prob)
        _check_direction('Translate', direction)
        check_magnitude('Translate', 'max_translate_offset', max_translate_offset)
        self.offset = int(level_to_value(level, max_translate_offset))
        self.level = level
        self.prob = prob
        self.img_fill_val = _img_fill('Translate', img_fill_val)
        self.seg_ignore_label = seg_ignore_label
        self.direction = direction
        self.max_translate_offset = max_translate_offset
        self.random_negative_prob = random_negative_prob
        self.min_size = min_size

    def _shift_bboxes(self, bboxes: np.ndarray, offset: int,
                      img_hw: Tuple[int, int]) -> np.ndarray:
        out = bboxes.copy()
        h, w = img_hw
        axis, limit = (0, w) if self.direction == 'horizontal' else (1, h)
        out[:, axis] = np.maximum(0, bboxes[:, axis] + offset)
        out[:, axis + 2] = np.minimum(limit, bboxes[:, axis + 2] + offset)
        return out

    def __call__(self, results: dict) -> dict:
        if np.random.rand() > self.prob:
            return results
        offset = random_negative(self.offset, self.random_negative_prob)
        h, w = results['img'].shape[:2]
        for key in results.get('img_fields', ['img']):
            img = results[key]
            results[key] = mmcv.imtranslate(img, offset, self.direction,
                                            self.img_fill_val).astype(img.dtype)
        for key in results.get('bbox_fields', []):
            results[key] = self._shift_bboxes(results[key], offset, (h, w))
        for key in results.get('mask_fields', []):
            results[key] = results[key].translate((h, w), offset, self.direction)
        for key in results.get('seg_fields', []):
            seg = results[key]
            results[key] = mmcv.imtranslate(seg, offset, self.direction, self.seg_ignore_label,
                                            interpolation='nearest').astype(seg.dtype)
        _drop_empty_boxes(results, self.min_size)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(level={self.level}, prob={self.prob}, '
                f'img_fill_val={self.img_fill_val}, seg_ignore_label={self.seg_ignore_label}, '
                f'direction={self.direction}, max_translate_offset={self.max_translate_offset}, '
                f'random_negative_prob={self.random_negative_prob}, min_size={self.min_size})')
