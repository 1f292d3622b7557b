"""YOLOX's random affine warp (mmdetection 2.x ``RandomAffine``)."""
import math
from typing import Tuple

import cv2
import numpy as np

from ...registry import TRANSFORMS
from .instance_fields import (clip_bboxes, find_inside_bboxes, keep_box_candidates,
                              keep_instances, require_boxes_only)
from ...core.utils.errors import ConfigValueError


def _rotation(degrees: float) -> np.ndarray:
    r = math.radians(degrees)
    return np.array([[math.cos(r), -math.sin(r), 0.], [math.sin(r), math.cos(r), 0.],
                     [0., 0., 1.]], dtype=np.float32)


def _scaling(ratio: float) -> np.ndarray:
    return np.array([[ratio, 0., 0.], [0., ratio, 0.], [0., 0., 1.]], dtype=np.float32)


def _shear(x_degrees: float, y_degrees: float) -> np.ndarray:
    return np.array([[1, math.tan(math.radians(x_degrees)), 0.],
                     [math.tan(math.radians(y_degrees)), 1, 0.], [0., 0., 1.]],
                    dtype=np.float32)


def _translation(x: float, y: float) -> np.ndarray:
    return np.array([[1, 0., x], [0., 1, y], [0., 0., 1.]], dtype=np.float32)


@TRANSFORMS.register_module()
class RandomAffine:
    """Warp by ``translate @ shear @ rotate @ scale`` (about the image origin, as in 2.x) with
    random parameters, into an output of (h + 2 * border[0], w + 2 * border[1]).

    Boxes become the box around their four warped corners; boxes outside the output are
    dropped with their labels. Boxes only, as in 2.x: masks or segmentation maps are an error.

    Args:
        max_rotate_degree: rotation drawn from [-max, max] degrees.
        max_translate_ratio: translation drawn from [-max, max] times the output side.
        scaling_ratio_range: scale drawn from this range.
        max_shear_degree: x and y shear angles drawn from [-max, max] degrees.
        border: (h, w) added on each side of the output (YOLOX uses (-320, -320) to cut the
            1280 mosaic to 640).
        border_val: fill value per channel.
        min_bbox_size, min_area_ratio, max_aspect_ratio: the box filter, when
            ``skip_filter=False``.
        bbox_clip_border: clip boxes to the output.
        skip_filter: skip the box filter.
    """

    def __init__(self, max_rotate_degree: float = 10.0, max_translate_ratio: float = 0.1,
                 scaling_ratio_range: Tuple[float, float] = (0.5, 1.5),
                 max_shear_degree: float = 2.0, border: Tuple[int, int] = (0, 0),
                 border_val: Tuple[int, int, int] = (114, 114, 114), min_bbox_size: float = 2,
                 min_area_ratio: float = 0.2, max_aspect_ratio: float = 20,
                 bbox_clip_border: bool = True, skip_filter: bool = True):
        if not 0 <= max_translate_ratio <= 1:
            raise ConfigValueError(f'RandomAffine max_translate_ratio must be in [0, 1], '
                                   f'got {max_translate_ratio}')
        if not 0 < scaling_ratio_range[0] <= scaling_ratio_range[1]:
            raise ConfigValueError(f'RandomAffine scaling_ratio_range must be (min, max) with '
                                   f'0 < min <= max, got {scaling_ratio_range}')
        self.max_rotate_degree = max_rotate_degree
        self.max_translate_ratio = max_translate_ratio
        self.scaling_ratio_range = scaling_ratio_range
        self.max_shear_degree = max_shear_degree
        self.border = border
        self.border_val = border_val
        self.min_bbox_size = min_bbox_size
        self.min_area_ratio = min_area_ratio
        self.max_aspect_ratio = max_aspect_ratio
        self.bbox_clip_border = bbox_clip_border
        self.skip_filter = skip_filter

    def _random_matrix(self, height: int, width: int) -> Tuple[np.ndarray, float]:
        rotation = _rotation(np.random.uniform(-self.max_rotate_degree, self.max_rotate_degree))
        ratio = np.random.uniform(*self.scaling_ratio_range)
        shear = _shear(np.random.uniform(-self.max_shear_degree, self.max_shear_degree),
                       np.random.uniform(-self.max_shear_degree, self.max_shear_degree))
        t = self.max_translate_ratio
        translate = _translation(np.random.uniform(-t, t) * width,
                                 np.random.uniform(-t, t) * height)
        return translate @ shear @ rotation @ _scaling(ratio), ratio

    @staticmethod
    def warp_bboxes(bboxes: np.ndarray, matrix: np.ndarray) -> np.ndarray:
        """The xyxy box (n, 4) around the four corners of each box mapped by the 3x3
        ``matrix`` (homogeneous)."""
        n = len(bboxes)
        xs = bboxes[:, [0, 0, 2, 2]].reshape(-1)
        ys = bboxes[:, [1, 3, 3, 1]].reshape(-1)
        points = matrix @ np.vstack([xs, ys, np.ones_like(xs)])
        xs = (points[0] / points[2]).reshape(n, 4)
        ys = (points[1] / points[2]).reshape(n, 4)
        return np.stack([xs.min(1), ys.min(1), xs.max(1), ys.max(1)], axis=1).astype(np.float32)

    def __call__(self, results: dict) -> dict:
        require_boxes_only(results, 'RandomAffine')
        img = results['img']
        height = img.shape[0] + self.border[0] * 2
        width = img.shape[1] + self.border[1] * 2
        matrix, ratio = self._random_matrix(height, width)
        results['img'] = cv2.warpPerspective(img, matrix, dsize=(width, height),
                                             borderValue=self.border_val)
        results['img_shape'] = results['img'].shape
        for key in results.get('bbox_fields', []):
            bboxes = results[key]
            if not len(bboxes):
                continue
            warped = self.warp_bboxes(bboxes, matrix)
            if self.bbox_clip_border:
                warped = clip_bboxes(warped, (height, width))
            keep = find_inside_bboxes(warped, height, width)
            if not self.skip_filter:
                keep &= keep_box_candidates(bboxes * ratio, warped, self.min_bbox_size,
                                             self.min_area_ratio, self.max_aspect_ratio)
            results[key] = warped
            keep_instances(results, key, keep)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(max_rotate_degree={self.max_rotate_degree}, '
                f'max_translate_ratio={self.max_translate_ratio}, scaling_ratio_range='
                f'{self.scaling_ratio_range}, max_shear_degree={self.max_shear_degree}, '
                f'border={self.border}, border_val={self.border_val}, min_bbox_size='
                f'{self.min_bbox_size}, min_area_ratio={self.min_area_ratio}, '
                f'max_aspect_ratio={self.max_aspect_ratio}, skip_filter={self.skip_filter})')
