"""Resize, flip, pad and normalise (mmdetection 2.x names and arguments), and ``SegRescale``.

Every geometric transform moves the image, the boxes in ``bbox_fields``, the masks in
``mask_fields`` and the maps in ``seg_fields`` together. Photometric transforms are in
``photometric.py``, crops in ``crops.py``.
"""
from typing import List, Optional, Sequence, Tuple, Union

import mmcv
import numpy as np

from ...registry import TRANSFORMS
from ...core.utils.errors import ConfigValueError

Scale = Tuple[int, int]


@TRANSFORMS.register_module()
class Resize:
    """Resize images, boxes, masks and segmentation maps.

    Scale choice (2.x): with ``ratio_range`` the single ``img_scale`` is multiplied by a random
    ratio; with one ``img_scale`` it is used as is; with several, ``multiscale_mode='range'``
    samples long and short edges between the two given scales and ``'value'`` picks one.
    A ``results['scale']`` (or float ``results['scale_factor']``) set upstream, e.g. by
    ``MultiScaleFlipAug``, takes precedence unless ``override=True``.

    Args:
        img_scale: (w, h) or a list of them; with ``keep_ratio`` a (long, short) edge bound.
        keep_ratio: rescale keeping the aspect ratio (``mmcv.imrescale``) or stretch to the scale.
        bbox_clip_border: clip boxes to the resized image.
    """

    def __init__(self, img_scale: Union[None, Scale, List[Scale]] = None,
                 multiscale_mode: str = 'range', ratio_range: Optional[Tuple[float, float]] = None,
                 keep_ratio: bool = True, bbox_clip_border: bool = True, backend: str = 'cv2',
                 interpolation: str = 'bilinear', override: bool = False):
        if img_scale is None:
            self.img_scale = None
        else:
            scales = img_scale if isinstance(img_scale, list) else [img_scale]
            if not all(isinstance(s, (tuple, list)) and len(s) == 2 for s in scales):
                raise ConfigValueError(f'Resize img_scale={img_scale!r}: give a (w, h) tuple or a '
                                       'list of them, e.g. [(1333, 800)]')
            self.img_scale = [tuple(s) for s in scales]
        if multiscale_mode not in ('range', 'value'):
            raise ConfigValueError(
                f"multiscale_mode must be 'range' or 'value', got {multiscale_mode!r}")
        if ratio_range is not None and (self.img_scale is None or len(self.img_scale) != 1):
            raise ConfigValueError('Resize: ratio_range needs exactly one img_scale')
        self.multiscale_mode = multiscale_mode
        self.ratio_range = ratio_range
        self.keep_ratio = keep_ratio
        self.bbox_clip_border = bbox_clip_border
        self.backend = backend
        self.interpolation = interpolation
        self.override = override

    @staticmethod
    def random_select(img_scales: List[Scale]) -> Tuple[Scale, int]:
        idx = np.random.randint(len(img_scales))
        return img_scales[idx], idx

    @staticmethod
    def random_sample(img_scales: List[Scale]) -> Tuple[Scale, None]:
        if len(img_scales) != 2:
            raise ValueError(f"multiscale_mode='range' needs two scales, got {img_scales}")
        longs = [max(s) for s in img_scales]
        shorts = [min(s) for s in img_scales]
        long_edge = np.random.randint(min(longs), max(longs) + 1)
        short_edge = np.random.randint(min(shorts), max(shorts) + 1)
        return (long_edge, short_edge), None

    @staticmethod
    def random_sample_ratio(img_scale: Scale, ratio_range: Tuple[float, float]) -> Tuple[Scale, None]:
        lo, hi = ratio_range
        ratio = np.random.random_sample() * (hi - lo) + lo
        return (int(img_scale[0] * ratio), int(img_scale[1] * ratio)), None

    def _random_scale(self, results: dict) -> None:
        if self.img_scale is None:
            raise ValueError('Resize has no img_scale and results carry no scale/scale_factor')
        if self.ratio_range is not None:
            scale, idx = self.random_sample_ratio(self.img_scale[0], self.ratio_range)
        elif len(self.img_scale) == 1:
            scale, idx = self.img_scale[0], 0
        elif self.multiscale_mode == 'range':
            scale, idx = self.random_sample(self.img_scale)
        else:
            scale, idx = self.random_select(self.img_scale)
        results['scale'] = scale
        results['scale_idx'] = idx

    def _resize_img(self, results: dict) -> None:
        for key in results.get('img_fields', ['img']):
            img = results[key]
            h, w = img.shape[:2]
            if self.keep_ratio:
                out = mmcv.imrescale(img, results['scale'], interpolation=self.interpolation,
                                     backend=self.backend)
                w_scale, h_scale = out.shape[1] / w, out.shape[0] / h
            else:
                out, w_scale, h_scale = mmcv.imresize(img, results['scale'], return_scale=True,
                                                      interpolation=self.interpolation,
                                                      backend=self.backend)
            results[key] = out
            results['img_shape'] = out.shape
            results['pad_shape'] = out.shape  # until Pad changes it
            results['scale_factor'] = np.array([w_scale, h_scale, w_scale, h_scale], np.float32)
            results['keep_ratio'] = self.keep_ratio

    def _resize_bboxes(self, results: dict) -> None:
        h, w = results['img_shape'][:2]
        for key in results.get('bbox_fields', []):
            bboxes = results[key] * results['scale_factor']
            if self.bbox_clip_border:
                bboxes[:, 0::2] = np.clip(bboxes[:, 0::2], 0, w)
                bboxes[:, 1::2] = np.clip(bboxes[:, 1::2], 0, h)
            results[key] = bboxes.astype(np.float32)

    def _resize_masks(self, results: dict) -> None:
        for key in results.get('mask_fields', []):
            if results[key] is None:
                continue
            # resize to img_shape so that masks and image agree to the pixel
            results[key] = results[key].resize(results['img_shape'][:2])

    def _resize_seg(self, results: dict) -> None:
        for key in results.get('seg_fields', []):
            h, w = results['img_shape'][:2]
            results[key] = mmcv.imresize(results[key], (w, h), interpolation='nearest',
                                         backend=self.backend)

    def __call__(self, results: dict) -> dict:
        if 'scale' not in results:
            if 'scale_factor' in results:
                factor = results['scale_factor']
                if not isinstance(factor, float):
                    raise TypeError(f'a preset scale_factor must be a float, got {factor!r}')
                h, w = results['img'].shape[:2]
                results['scale'] = (int(w * factor), int(h * factor))
            else:
                self._random_scale(results)
        elif self.override:
            results.pop('scale')
            results.pop('scale_factor', None)
            self._random_scale(results)
        elif 'scale_factor' in results:
            raise ConfigValueError('results carry both scale and scale_factor; set override=True '
                                   'to re-sample the scale')
        self._resize_img(results)
        self._resize_bboxes(results)
        self._resize_masks(results)
        self._resize_seg(results)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(img_scale={self.img_scale}, multiscale_mode='
                f"'{self.multiscale_mode}', ratio_range={self.ratio_range}, "
                f'keep_ratio={self.keep_ratio}, bbox_clip_border={self.bbox_clip_border})')


@TRANSFORMS.register_module()
class RandomFlip:
    """Flip image, boxes, masks and maps with probability ``flip_ratio``.

    Args:
        flip_ratio: a probability (split evenly over ``direction`` if that is a list) or a
            list of probabilities, one per direction.
        direction: 'horizontal', 'vertical', 'diagonal' or a list of them.
    """

    _DIRECTIONS = ('horizontal', 'vertical', 'diagonal')

    def __init__(self, flip_ratio: Union[None, float, List[float]] = None,
                 direction: Union[str, List[str]] = 'horizontal'):
        directions = direction if isinstance(direction, list) else [direction]
        for d in directions:
            if d not in self._DIRECTIONS:
                raise ConfigValueError(
                    f'RandomFlip direction must be in {self._DIRECTIONS}, got {d!r}')
        if isinstance(flip_ratio, list):
            if len(flip_ratio) != len(directions) or not 0 <= sum(flip_ratio) <= 1:
                raise ConfigValueError('RandomFlip: a list flip_ratio needs one probability per '
                                       'direction, summing to at most 1')
        elif flip_ratio is not None and not 0 <= flip_ratio <= 1:
            raise ConfigValueError(f'RandomFlip flip_ratio must be in [0, 1], got {flip_ratio}')
        self.flip_ratio = flip_ratio
        self.direction = direction

    @staticmethod
    def bbox_flip(bboxes: np.ndarray, img_shape: Sequence[int], direction: str) -> np.ndarray:
        """Flip xyxy boxes (..., 4k) inside an image of ``img_shape`` (h, w, ...)."""
        h, w = img_shape[:2]
        out = bboxes.copy()
        if direction in ('horizontal', 'diagonal'):
            out[..., 0::4] = w - bboxes[..., 2::4]
            out[..., 2::4] = w - bboxes[..., 0::4]
        if direction in ('vertical', 'diagonal'):
            out[..., 1::4] = h - bboxes[..., 3::4]
            out[..., 3::4] = h - bboxes[..., 1::4]
        return out

    def _choose(self) -> Optional[str]:
        directions = list(self.direction) if isinstance(self.direction, list) else [self.direction]
        if isinstance(self.flip_ratio, list):
            probs = list(self.flip_ratio)
        else:
            ratio = self.flip_ratio or 0.0
            probs = [ratio / len(directions)] * len(directions)
        probs.append(1 - sum(probs))
        idx = np.random.choice(len(directions) + 1, p=probs)
        return directions[idx] if idx < len(directions) else None

    def __call__(self, results: dict) -> dict:
        if 'flip' not in results:
            chosen = self._choose()
            results['flip'] = chosen is not None
            results['flip_direction'] = chosen
        elif 'flip_direction' not in results:
            results['flip_direction'] = (self.direction if isinstance(self.direction, str)
                                         else self.direction[0]) if results['flip'] else None
        if results['flip']:
            direction = results['flip_direction']
            for key in results.get('img_fields', ['img']):
                results[key] = mmcv.imflip(results[key], direction=direction)
            for key in results.get('bbox_fields', []):
                results[key] = self.bbox_flip(results[key], results['img_shape'], direction)
            for key in results.get('mask_fields', []):
                results[key] = results[key].flip(direction)
            for key in results.get('seg_fields', []):
                results[key] = mmcv.imflip(results[key], direction=direction)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(flip_ratio={self.flip_ratio}, direction={self.direction!r})'


@TRANSFORMS.register_module()
class Pad:
    """Pad image (bottom/right) to ``size`` (h, w) or to a multiple of ``size_divisor``.

    Masks and maps are padded to the image's new ``pad_shape``.

    Args:
        pad_val: a number for the image and masks, or dict(img=, masks=, seg=).
    """

    def __init__(self, size: Optional[Tuple[int, int]] = None, size_divisor: Optional[int] = None,
                 pad_to_square: bool = False,
                 pad_val: Union[float, dict] = dict(img=0, masks=0, seg=255)):
        if pad_to_square:
            if size is not None or size_divisor is not None:
                raise ConfigValueError('Pad: pad_to_square excludes size and size_divisor')
        elif (size is None) == (size_divisor is None):
            raise ConfigValueError('Pad needs exactly one of size and size_divisor')
        self.size = tuple(size) if size is not None else None
        self.size_divisor = size_divisor
        self.pad_to_square = pad_to_square
        self.pad_val = dict(img=pad_val, masks=pad_val, seg=255) \
            if isinstance(pad_val, (int, float)) else dict(pad_val)

    def _pad_img(self, results: dict) -> None:
        img_val = self.pad_val.get('img', 0)
        size = self.size
        for key in results.get('img_fields', ['img']):
            img = results[key]
            if self.pad_to_square:
                side = max(img.shape[:2])
                size = (side, side)
            if size is not None:
                if size[0] < img.shape[0] or size[1] < img.shape[1]:
                    raise ValueError(f'Pad size {size} is smaller than the image {img.shape[:2]}')
                padded = mmcv.impad(img, shape=size, pad_val=img_val)
            else:
                padded = mmcv.impad_to_multiple(img, self.size_divisor, pad_val=img_val)
            results[key] = padded
        results['pad_shape'] = padded.shape
        results['pad_fixed_size'] = size
        results['pad_size_divisor'] = self.size_divisor

    def __call__(self, results: dict) -> dict:
        self._pad_img(results)
        pad_hw = results['pad_shape'][:2]
        for key in results.get('mask_fields', []):
            results[key] = results[key].pad(pad_hw, pad_val=self.pad_val.get('masks', 0))
        for key in results.get('seg_fields', []):
            results[key] = mmcv.impad(results[key], shape=pad_hw,
                                      pad_val=self.pad_val.get('seg', 255))
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(size={self.size}, size_divisor={self.size_divisor}, '
                f'pad_to_square={self.pad_to_square}, pad_val={self.pad_val})')


@TRANSFORMS.register_module()
class Normalize:
    """``(img - mean) / std`` (after BGR->RGB if ``to_rgb``); records ``img_norm_cfg``."""

    def __init__(self, mean: Sequence[float], std: Sequence[float], to_rgb: bool = True):
        self.mean = np.array(mean, dtype=np.float32)
        self.std = np.array(std, dtype=np.float32)
        self.to_rgb = to_rgb

    def __call__(self, results: dict) -> dict:
        for key in results.get('img_fields', ['img']):
            results[key] = mmcv.imnormalize(results[key], self.mean, self.std, self.to_rgb)
        results['img_norm_cfg'] = dict(mean=self.mean, std=self.std, to_rgb=self.to_rgb)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(mean={self.mean.tolist()}, std={self.std.tolist()}, '
                f'to_rgb={self.to_rgb})')


@TRANSFORMS.register_module()
class SegRescale:
    """Rescale segmentation maps by ``scale_factor`` (nearest neighbour), e.g. to the
    resolution of a semantic head's output (HTC: 1/8).

    Args:
        scale_factor: the factor (1 leaves the maps as they are).
        backend: 'cv2' or 'pillow'.
    """

    def __init__(self, scale_factor: float = 1, backend: str = 'cv2'):
        self.scale_factor = scale_factor
        self.backend = backend

    def __call__(self, results: dict) -> dict:
        if self.scale_factor != 1:
            for key in results.get('seg_fields', []):
                results[key] = mmcv.imrescale(results[key], self.scale_factor,
                                              interpolation='nearest', backend=self.backend)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(scale_factor={self.scale_factor})'
