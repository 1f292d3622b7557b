"""Instance mask containers: ``BitmapMasks`` (N, H, W) arrays and ``PolygonMasks`` (COCO polygons).

Both follow mmdetection 2.x's API so that pipelines and mask heads can treat them alike:
every geometric method returns a new object of the same type (polygons stay polygons).
"""
from abc import ABCMeta, abstractmethod
from typing import List, Sequence, Tuple, Union

import cv2
import mmcv
import numpy as np
import pycocotools.mask as mask_utils
import torch
from torchvision.ops import roi_align
from ...core.utils.errors import ConfigTypeError, ConfigValueError

_DIRECTIONS = ('horizontal', 'vertical', 'diagonal')


def _check_direction(direction: str) -> None:
    if direction not in _DIRECTIONS:
        raise ValueError(f'flip direction must be one of {_DIRECTIONS}, got {direction!r}')


class BaseInstanceMasks(metaclass=ABCMeta):
    """Interface of instance masks; ``height``/``width`` are the image size the masks live in."""

    height: int
    width: int
    masks: Union[np.ndarray, List[List[np.ndarray]]]

    @abstractmethod
    def rescale(self, scale, interpolation: str = 'nearest') -> 'BaseInstanceMasks':
        """Rescale keeping the aspect ratio (``scale`` a factor or a (long, short) edge pair)."""

    @abstractmethod
    def resize(self, out_shape: Tuple[int, int],
               interpolation: str = 'nearest') -> 'BaseInstanceMasks':
        """Resize to ``out_shape`` = (h, w)."""

    @abstractmethod
    def flip(self, flip_direction: str = 'horizontal') -> 'BaseInstanceMasks':
        """Flip 'horizontal', 'vertical' or 'diagonal'."""

    @abstractmethod
    def pad(self, out_shape: Tuple[int, int], pad_val: int = 0) -> 'BaseInstanceMasks':
        """Pad at the bottom/right to ``out_shape`` = (h, w)."""

    @abstractmethod
    def crop(self, bbox: np.ndarray) -> 'BaseInstanceMasks':
        """Crop to ``bbox`` (4,) xyxy, clipped to the image."""

    @abstractmethod
    def crop_and_resize(self, bboxes, out_shape, inds, device='cpu', interpolation='bilinear',
                        binarize=True) -> 'BaseInstanceMasks':
        """Crop mask ``inds[i]`` to ``bboxes[i]`` and resize it to ``out_shape`` (mask targets)."""

    @abstractmethod
    def expand(self, expanded_h: int, expanded_w: int, top: int,
               left: int) -> 'BaseInstanceMasks':
        """Place the masks at (top, left) in a larger empty canvas."""

    @property
    @abstractmethod
    def areas(self) -> np.ndarray:
        """Foreground area of each mask, (N,)."""

    @abstractmethod
    def to_ndarray(self) -> np.ndarray:
        """Bitmaps as a uint8 ndarray (N, H, W)."""

    @abstractmethod
    def to_tensor(self, dtype: torch.dtype, device) -> torch.Tensor:
        """Bitmaps as a Tensor (N, H, W)."""

    @abstractmethod
    def __len__(self) -> int:
        ...

    @abstractmethod
    def __getitem__(self, index) -> 'BaseInstanceMasks':
        ...

    def __iter__(self):
        """Iterates over ``self.masks``: (H, W) arrays, or per-object polygon lists."""
        return iter(self.masks)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(num_masks={len(self.masks)}, '
                f'height={self.height}, width={self.width})')

    def get_bboxes(self) -> np.ndarray:
        """Tight xyxy boxes (N, 4) float32 of the foreground of each mask (zeros when empty)."""
        bitmaps = self.to_ndarray().astype(bool)
        boxes = np.zeros((len(bitmaps), 4), dtype=np.float32)
        for i, bitmap in enumerate(bitmaps):
            ys, xs = np.nonzero(bitmap)
            if len(xs):
                boxes[i] = [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]
        return boxes


class BitmapMasks(BaseInstanceMasks):
    """Binary masks as an ndarray (N, H, W) of uint8.

    Args:
        masks: ndarray (N, H, W) or a list of (H, W) ndarrays (may be empty).
        height, width: the image size.
    """

    def __init__(self, masks: Union[np.ndarray, List[np.ndarray]], height: int, width: int):
        self.height = int(height)
        self.width = int(width)
        if len(masks) == 0:
            self.masks = np.empty((0, self.height, self.width), dtype=np.uint8)
            return
        if not isinstance(masks, (list, np.ndarray)):
            raise TypeError(f'BitmapMasks takes an ndarray (N, H, W) or a list of (H, W) '
                            f'ndarrays, got {type(masks).__name__}')
        stacked = np.stack(masks) if isinstance(masks, list) else np.asarray(masks)
        if stacked.ndim != 3 or stacked.shape[1:] != (self.height, self.width):
            raise ConfigValueError(f'BitmapMasks: masks of shape {stacked.shape} do not match '
                                   f'(N, {self.height}, {self.width})')
        self.masks = stacked

    def __getitem__(self, index) -> 'BitmapMasks':
        masks = self.masks[index].reshape(-1, self.height, self.width)
        return BitmapMasks(masks, self.height, self.width)

    def __len__(self) -> int:
        return len(self.masks)

    def rescale(self, scale, interpolation: str = 'nearest') -> 'BitmapMasks':
        new_w, new_h = mmcv.rescale_size((self.width, self.height), scale)
        if len(self.masks) == 0:
            return BitmapMasks([], new_h, new_w)
        out = np.stack([mmcv.imrescale(m, scale, interpolation=interpolation)
                        for m in self.masks])
        return BitmapMasks(out, *out.shape[1:])

    def resize(self, out_shape, interpolation: str = 'nearest') -> 'BitmapMasks':
        if len(self.masks) == 0:
            return BitmapMasks([], *out_shape)
        out = np.stack([mmcv.imresize(m, (int(out_shape[1]), int(out_shape[0])),
                                      interpolation=interpolation) for m in self.masks])
        return BitmapMasks(out, *out_shape)

    def flip(self, flip_direction: str = 'horizontal') -> 'BitmapMasks':
        _check_direction(flip_direction)
        if len(self.masks) == 0:
            return BitmapMasks([], self.height, self.width)
        axes = {'horizontal': (2,), 'vertical': (1,), 'diagonal': (1, 2)}[flip_direction]
        return BitmapMasks(np.ascontiguousarray(np.flip(self.masks, axis=axes)),
                           self.height, self.width)

    def pad(self, out_shape, pad_val: int = 0) -> 'BitmapMasks':
        h, w = int(out_shape[0]), int(out_shape[1])
        if h < self.height or w < self.width:
            raise ValueError(f'pad: out_shape {out_shape} is smaller than the masks '
                             f'({self.height}, {self.width})')
        padded = np.full((len(self.masks), h, w), pad_val, dtype=self.masks.dtype)
        padded[:, :self.height, :self.width] = self.masks
        return BitmapMasks(padded, h, w)

    def crop(self, bbox: np.ndarray) -> 'BitmapMasks':
        x1, y1, w, h = _clipped_crop_window(bbox, self.height, self.width)
        if len(self.masks) == 0:
            return BitmapMasks([], h, w)
        return BitmapMasks(self.masks[:, y1:y1 + h, x1:x1 + w].copy(), h, w)

    def crop_and_resize(self, bboxes, out_shape, inds, device='cpu', interpolation='bilinear',
                        binarize=True) -> 'BitmapMasks':
        """RoIAlign (``aligned=True``, adaptive sampling) of masks ``inds`` over ``bboxes``.

        Args:
            bboxes: ndarray or Tensor (K, 4) xyxy in this mask's pixel frame.
            out_shape: (h, w) of each output mask.
            inds: ndarray or Tensor (K,) index of the mask cropped by each box.
        Returns:
            BitmapMasks (K, h, w); binarised at 0.5 unless ``binarize=False`` (then float).
        """
        out_h, out_w = int(out_shape[0]), int(out_shape[1])
        if len(self.masks) == 0 or len(bboxes) == 0:
            return BitmapMasks([], out_h, out_w)
        if isinstance(bboxes, np.ndarray):
            bboxes = torch.from_numpy(bboxes)
        if isinstance(inds, np.ndarray):
            inds = torch.from_numpy(inds)
        bboxes = bboxes.to(device=device, dtype=torch.float32)
        inds = inds.to(device=device, dtype=torch.long)
        # Each RoI reads its own channel-less image: the batch index is the RoI index.
        batch_idx = torch.arange(len(bboxes), device=device, dtype=bboxes.dtype)[:, None]
        rois = torch.cat([batch_idx, bboxes], dim=1)
        gt = torch.from_numpy(self.masks).to(device).index_select(0, inds).to(rois.dtype)
        targets = roi_align(gt[:, None], rois, (out_h, out_w), spatial_scale=1.0,
                            sampling_ratio=0, aligned=True).squeeze(1)
        resized = (targets >= 0.5).to(torch.uint8) if binarize else targets
        return BitmapMasks(resized.cpu().numpy(), out_h, out_w)

    def expand(self, expanded_h: int, expanded_w: int, top: int, left: int) -> 'BitmapMasks':
        out = np.zeros((len(self.masks), expanded_h, expanded_w), dtype=np.uint8)
        out[:, top:top + self.height, left:left + self.width] = self.masks
        return BitmapMasks(out, expanded_h, expanded_w)

    def translate(self, out_shape, offset: float, direction: str = 'horizontal',
                  fill_val: int = 0, interpolation: str = 'bilinear') -> 'BitmapMasks':
        """Shift by ``offset`` pixels along ``direction`` ('horizontal'|'vertical')."""
        h, w = int(out_shape[0]), int(out_shape[1])
        if len(self.masks) == 0:
            return BitmapMasks([], h, w)
        shifted = np.stack([mmcv.imtranslate(m, offset, direction, border_value=fill_val,
                                             interpolation=interpolation) for m in self.masks])
        canvas = np.full((len(shifted), h, w), fill_val, dtype=self.masks.dtype)
        ch, cw = min(h, self.height), min(w, self.width)
        canvas[:, :ch, :cw] = shifted[:, :ch, :cw]
        return BitmapMasks(canvas, h, w)

    def shear(self, out_shape, magnitude: float, direction: str = 'horizontal',
              border_value: int = 0, interpolation: str = 'bilinear') -> 'BitmapMasks':
        """``mmcv.imshear`` of each mask (x' = x + m*y horizontally), output ``out_shape``."""
        h, w = int(out_shape[0]), int(out_shape[1])
        if len(self.masks) == 0:
            return BitmapMasks([], h, w)
        out = np.stack([mmcv.imshear(m, magnitude, direction, border_value=border_value,
                                     interpolation=interpolation) for m in self.masks])
        return BitmapMasks(out.astype(self.masks.dtype), h, w)

    def rotate(self, out_shape, angle: float, center=None, scale: float = 1.0,
               fill_val: int = 0) -> 'BitmapMasks':
        """``mmcv.imrotate`` of each mask (positive ``angle`` = clockwise), output ``out_shape``."""
        h, w = int(out_shape[0]), int(out_shape[1])
        if len(self.masks) == 0:
            return BitmapMasks([], h, w)
        out = np.stack([mmcv.imrotate(m, angle, center=center, scale=scale,
                                      border_value=fill_val) for m in self.masks])
        return BitmapMasks(out.astype(self.masks.dtype), h, w)

    @property
    def areas(self) -> np.ndarray:
        return self.masks.sum((1, 2))

    def to_ndarray(self) -> np.ndarray:
        return self.masks

    def to_tensor(self, dtype: torch.dtype, device) -> torch.Tensor:
        return torch.tensor(self.masks, dtype=dtype, device=device)


def _clipped_crop_window(bbox: np.ndarray, height: int, width: int) -> Tuple[int, int, int, int]:
    """(x1, y1, w, h) of ``bbox`` clipped to the image, at least 1 px each way."""
    if not (isinstance(bbox, np.ndarray) and bbox.ndim == 1 and len(bbox) == 4):
        raise ConfigValueError(f'crop expects a bbox ndarray of shape (4,), got {bbox!r}')
    box = bbox.astype(np.float64).copy()
    box[0::2] = np.clip(box[0::2], 0, width)
    box[1::2] = np.clip(box[1::2], 0, height)
    x1, y1, x2, y2 = (int(v) for v in box)
    return x1, y1, max(x2 - x1, 1), max(y2 - y1, 1)


def polygon_to_bitmap(polygons: Sequence[np.ndarray], height: int, width: int) -> np.ndarray:
    """Rasterise the polygons of one object (flat ``[x0, y0, x1, y1, ...]``) to a uint8 (H, W)."""
    rles = mask_utils.frPyObjects([np.asarray(p, dtype=np.float64) for p in polygons],
                                  height, width)
    return mask_utils.decode(mask_utils.merge(rles)).astype(np.uint8)


class PolygonMasks(BaseInstanceMasks):
    """Masks as polygons: ``masks[i]`` is a list of flat ``[x0, y0, x1, y1, ...]`` arrays.

    Args:
        masks: list (objects) of lists (parts) of ndarrays (2 * num_points,).
        height, width: the image size.
    """

    def __init__(self, masks: List[List[np.ndarray]], height: int, width: int):
        if not isinstance(masks, list):
            raise TypeError(f'PolygonMasks takes a list of lists of ndarrays, '
                            f'got {type(masks).__name__}')
        for obj in masks:
            if not isinstance(obj, list) or not all(isinstance(p, np.ndarray) for p in obj):
                raise ConfigTypeError('PolygonMasks: each object must be a list of ndarrays '
                                      '[x0, y0, x1, y1, ...]')
        self.height = int(height)
        self.width = int(width)
        self.masks = masks

    def __getitem__(self, index) -> 'PolygonMasks':
        if isinstance(index, np.ndarray):
            if index.dtype == bool:
                index = np.nonzero(index)[0]
            index = index.tolist()
        if isinstance(index, torch.Tensor):
            index = index.tolist()
        if isinstance(index, list):
            if not all(isinstance(i, (int, np.integer)) for i in index):
                raise ValueError(f'PolygonMasks index must be an int, a slice or integer indices '
                                 f'(list, ndarray, Tensor), got {index!r}')
            masks = [self.masks[i] for i in index]
        else:
            try:
                masks = self.masks[index]
            except Exception as e:
                raise ValueError(f'unsupported index {index!r} of type {type(index)}') from e
        if len(masks) and isinstance(masks[0], np.ndarray):
            masks = [masks]  # a single object was selected
        return PolygonMasks(masks, self.height, self.width)

    def __len__(self) -> int:
        return len(self.masks)

    def _map(self, fn) -> List[List[np.ndarray]]:
        return [[fn(p.astype(np.float64).copy()) for p in obj] for obj in self.masks]

    def rescale(self, scale, interpolation=None) -> 'PolygonMasks':
        new_w, new_h = mmcv.rescale_size((self.width, self.height), scale)
        return self.resize((new_h, new_w))

    def resize(self, out_shape, interpolation=None) -> 'PolygonMasks':
        h_scale = out_shape[0] / self.height
        w_scale = out_shape[1] / self.width

        def scale(p):
            p[0::2] *= w_scale
            p[1::2] *= h_scale
            return p
        return PolygonMasks(self._map(scale), *out_shape)

    def flip(self, flip_direction: str = 'horizontal') -> 'PolygonMasks':
        _check_direction(flip_direction)

        def flip(p):
            if flip_direction in ('horizontal', 'diagonal'):
                p[0::2] = self.width - p[0::2]
            if flip_direction in ('vertical', 'diagonal'):
                p[1::2] = self.height - p[1::2]
            return p
        return PolygonMasks(self._map(flip), self.height, self.width)

    def pad(self, out_shape, pad_val: int = 0) -> 'PolygonMasks':
        # Padding is at the bottom/right, so coordinates do not move.
        return PolygonMasks(self.masks, *out_shape)

    def crop(self, bbox: np.ndarray) -> 'PolygonMasks':
        x1, y1, w, h = _clipped_crop_window(bbox, self.height, self.width)

        def shift(p):
            # pycocotools clips to the canvas when rasterising.
            p[0::2] -= x1
            p[1::2] -= y1
            return p
        return PolygonMasks(self._map(shift), h, w)

    def crop_and_resize(self, bboxes, out_shape, inds, device='cpu', interpolation='bilinear',
                        binarize=True) -> 'PolygonMasks':
        """Polygon ``inds[i]`` mapped into box ``bboxes[i]`` scaled to ``out_shape`` (h, w)."""
        out_h, out_w = int(out_shape[0]), int(out_shape[1])
        if len(self.masks) == 0:
            return PolygonMasks([], out_h, out_w)
        if isinstance(bboxes, torch.Tensor):
            bboxes = bboxes.detach().cpu().numpy()
        if isinstance(inds, torch.Tensor):
            inds = inds.detach().cpu().numpy()
        bboxes = np.asarray(bboxes, dtype=np.float64).reshape(-1, 4)
        resized = []
        for box, ind in zip(bboxes, np.asarray(inds).reshape(-1)):
            w_scale = out_w / max(box[2] - box[0], 0.1)
            h_scale = out_h / max(box[3] - box[1], 0.1)
            obj = []
            for p in self.masks[int(ind)]:
                p = p.astype(np.float64).copy()
                p[0::2] = (p[0::2] - box[0]) * w_scale
                p[1::2] = (p[1::2] - box[1]) * h_scale
                obj.append(p)
            resized.append(obj)
        return PolygonMasks(resized, out_h, out_w)

    def expand(self, expanded_h: int, expanded_w: int, top: int, left: int) -> 'PolygonMasks':
        def shift(p):
            p[0::2] += left
            p[1::2] += top
            return p
        return PolygonMasks(self._map(shift), expanded_h, expanded_w)

    def translate(self, out_shape, offset: float, direction: str = 'horizontal',
                  fill_val=None, interpolation=None) -> 'PolygonMasks':
        """Shift by ``offset`` pixels and clip to ``out_shape`` (h, w)."""
        h, w = int(out_shape[0]), int(out_shape[1])

        def shift(p):
            if direction == 'horizontal':
                p[0::2] = np.clip(p[0::2] + offset, 0, w)
            elif direction == 'vertical':
                p[1::2] = np.clip(p[1::2] + offset, 0, h)
            else:
                raise ValueError(f"translate direction must be 'horizontal' or 'vertical', "
                                 f'got {direction!r}')
            return p
        return PolygonMasks(self._map(shift), h, w)

    def _affine(self, out_shape, matrix: np.ndarray) -> 'PolygonMasks':
        """Map every vertex by the 2x3 ``matrix`` and clip to ``out_shape`` (h, w)."""
        h, w = int(out_shape[0]), int(out_shape[1])

        def warp(p):
            xy = p.reshape(-1, 2) @ matrix[:, :2].T + matrix[:, 2]
            xy[:, 0] = np.clip(xy[:, 0], 0, w)
            xy[:, 1] = np.clip(xy[:, 1], 0, h)
            return xy.reshape(-1)
        return PolygonMasks(self._map(warp), h, w)

    def shear(self, out_shape, magnitude: float, direction: str = 'horizontal',
              border_value=None, interpolation=None) -> 'PolygonMasks':
        """Shear the vertices (x' = x + m*y horizontally, y' = y + m*x vertically)."""
        if direction == 'horizontal':
            matrix = np.array([[1, magnitude, 0], [0, 1, 0]], dtype=np.float64)
        elif direction == 'vertical':
            matrix = np.array([[1, 0, 0], [magnitude, 1, 0]], dtype=np.float64)
        else:
            raise ValueError(f"shear direction must be 'horizontal' or 'vertical', "
                             f'got {direction!r}')
        return self._affine(out_shape, matrix)

    def rotate(self, out_shape, angle: float, center=None, scale: float = 1.0,
               fill_val=None) -> 'PolygonMasks':
        """Rotate the vertices as ``mmcv.imrotate`` rotates pixels (positive = clockwise)."""
        if center is None:
            center = ((self.width - 1) * 0.5, (self.height - 1) * 0.5)
        matrix = cv2.getRotationMatrix2D(tuple(float(c) for c in center), -angle, scale)
        return self._affine(out_shape, matrix)

    def to_bitmap(self) -> BitmapMasks:
        return BitmapMasks(self.to_ndarray(), self.height, self.width)

    @property
    def areas(self) -> np.ndarray:
        """Sum of the shoelace areas of each object's polygons (holes are not subtracted)."""
        out = []
        for obj in self.masks:
            total = 0.0
            for p in obj:
                x, y = p[0::2].astype(np.float64), p[1::2].astype(np.float64)
                total += 0.5 * abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1)))
            out.append(total)
        return np.asarray(out, dtype=np.float64)

    def to_ndarray(self) -> np.ndarray:
        if len(self.masks) == 0:
            return np.empty((0, self.height, self.width), dtype=np.uint8)
        return np.stack([polygon_to_bitmap(obj, self.height, self.width) for obj in self.masks])

    def to_tensor(self, dtype: torch.dtype, device) -> torch.Tensor:
        return torch.tensor(self.to_ndarray(), dtype=dtype, device=device)

    def get_bboxes(self) -> np.ndarray:
        """xyxy boxes (N, 4) float32 spanning each object's polygon vertices."""
        boxes = np.zeros((len(self.masks), 4), dtype=np.float32)
        for i, obj in enumerate(self.masks):
            pts = np.concatenate([p.reshape(-1, 2) for p in obj]) if obj else np.zeros((0, 2))
            if len(pts):
                boxes[i] = [pts[:, 0].min(), pts[:, 1].min(), pts[:, 0].max(), pts[:, 1].max()]
        return boxes
