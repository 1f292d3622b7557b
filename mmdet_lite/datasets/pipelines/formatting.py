"""Turn pipeline arrays into Tensors and pick the keys the detector receives (2.x names).

Unlike 2.x there is no ``DataContainer``: ``img_metas`` is a plain dict and masks stay
``BitmapMasks``/``PolygonMasks`` objects (docs/conventions.md §3).
"""
from collections.abc import Sequence as SequenceABC
from typing import Sequence, Union

import numpy as np
import torch

from ...registry import TRANSFORMS


def to_tensor(data) -> torch.Tensor:
    """ndarray / Tensor / sequence / int / float to a Tensor (ndarray dtypes kept)."""
    if isinstance(data, torch.Tensor):
        return data
    if isinstance(data, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(data))
    if isinstance(data, SequenceABC) and not isinstance(data, str):
        return torch.tensor(data)
    if isinstance(data, bool):
        return torch.tensor([data])
    if isinstance(data, int):
        return torch.LongTensor([data])
    if isinstance(data, float):
        return torch.FloatTensor([data])
    raise TypeError(f'type {type(data).__name__} cannot be converted to a Tensor')


def _hwc_to_chw(img: np.ndarray) -> torch.Tensor:
    if img.ndim < 3:
        img = img[..., None]
    return to_tensor(np.ascontiguousarray(img.transpose(2, 0, 1)))


@TRANSFORMS.register_module()
class ToTensor:
    """Convert ``results[key]`` to a Tensor for each key."""

    def __init__(self, keys: Sequence[str]):
        self.keys = list(keys)

    def __call__(self, results: dict) -> dict:
        for key in self.keys:
            results[key] = to_tensor(results[key])
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(keys={self.keys})'


@TRANSFORMS.register_module()
class ImageToTensor:
    """(H, W, C) ndarray images to (C, H, W) Tensors (dtype kept)."""

    def __init__(self, keys: Sequence[str] = ('img',)):
        self.keys = list(keys)

    def __call__(self, results: dict) -> dict:
        for key in self.keys:
            results[key] = _hwc_to_chw(results[key])
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(keys={self.keys})'


@TRANSFORMS.register_module()
class Transpose:
    """Permute the axes of ``results[key]`` by ``order``."""

    def __init__(self, keys: Sequence[str], order: Sequence[int]):
        self.keys = list(keys)
        self.order = list(order)

    def __call__(self, results: dict) -> dict:
        for key in self.keys:
            results[key] = results[key].transpose(self.order)
        return results


@TRANSFORMS.register_module()
class ToDataContainer:
    """Accepted for 2.x configs; returns ``results`` unchanged.

    2.x wrapped the listed fields in ``mmcv.DataContainer`` to tell its collate how to batch
    them (``stack=True`` for images, lists otherwise). mmdet_lite's collate
    (``datasets/collate.py``) already stacks ``img`` and keeps every other field a per-image
    list, which is what the 2.x configs ask for, so there is nothing left to do. Stacking any
    other key (``stack=True``) is not supported and is refused when the transform is built.

    Args:
        fields: 2.x's ``dict(key=..., stack=..., ...)`` entries; each must name a ``key``.
    """

    def __init__(self, fields: Sequence[dict] = (dict(key='img', stack=True),
                                                  dict(key='gt_bboxes'), dict(key='gt_labels'))):
        for field in fields:
            if not isinstance(field, dict) or 'key' not in field:
                raise ValueError(f'ToDataContainer: each field must be a dict with a "key", '
                                 f'got {field!r}')
            if field.get('stack', False) and field['key'] != 'img':
                raise ValueError(f"ToDataContainer: stack=True for {field['key']!r} is not "
                                 'supported (the collate stacks only img and keeps other keys '
                                 'as per-image lists); use stack=False')
        self.fields = tuple(fields)

    def __call__(self, results: dict) -> dict:
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(fields={self.fields})'


@TRANSFORMS.register_module()
class DefaultFormatBundle:
    """img -> float32 Tensor (C, H, W); boxes, labels, proposals -> Tensors; masks untouched.

    Also fills ``pad_shape``, ``scale_factor``, ``flip`` and ``img_norm_cfg`` when earlier transforms
    did not, so that ``Collect``'s default meta keys exist.
    """

    def __init__(self, img_to_float: bool = True,
                 pad_val: Union[dict, None] = None):
        self.img_to_float = img_to_float
        self.pad_val = pad_val or dict(img=0, masks=0, seg=255)

    @staticmethod
    def _add_default_meta_keys(results: dict) -> None:
        img = results['img']
        results.setdefault('pad_shape', img.shape)
        results.setdefault('scale_factor', np.ones(4, dtype=np.float32))
        results.setdefault('flip', False)
        results.setdefault('flip_direction', None)
        channels = 1 if img.ndim < 3 else img.shape[2]
        results.setdefault('img_norm_cfg', dict(mean=np.zeros(channels, np.float32),
                                                std=np.ones(channels, np.float32), to_rgb=False))

    def __call__(self, results: dict) -> dict:
        if 'img' in results:
            self._add_default_meta_keys(results)
            img = _hwc_to_chw(results['img'])
            results['img'] = img.float() if self.img_to_float else img
        for key in ('proposals', 'gt_bboxes', 'gt_bboxes_ignore'):
            if key in results:
                results[key] = to_tensor(np.asarray(results[key], np.float32).reshape(-1, 4))
        if 'gt_labels' in results:
            results['gt_labels'] = to_tensor(np.asarray(results['gt_labels'], np.int64))
        if 'gt_semantic_seg' in results:
            results['gt_semantic_seg'] = to_tensor(results['gt_semantic_seg'][None].astype(np.int64))
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(img_to_float={self.img_to_float})'


@TRANSFORMS.register_module()
class Collect:
    """Keep ``keys`` and gather ``meta_keys`` into ``results['img_metas']`` (a plain dict).

    ``img_id`` is copied when present (datasets with ids set it); every other meta key must
    exist.
    """

    OPTIONAL_META_KEYS = ('img_id',)

    def __init__(self, keys: Sequence[str],
                 meta_keys: Sequence[str] = ('filename', 'ori_filename', 'ori_shape', 'img_shape',
                                             'pad_shape', 'scale_factor', 'flip',
                                             'flip_direction', 'img_norm_cfg', 'img_id')):
        self.keys = list(keys)
        self.meta_keys = list(meta_keys)

    def __call__(self, results: dict) -> dict:
        img_meta = {}
        for key in self.meta_keys:
            if key in results:
                img_meta[key] = results[key]
            elif key not in self.OPTIONAL_META_KEYS:
                raise KeyError(f'Collect: meta key {key!r} is missing from the pipeline results '
                               f'(have {sorted(results)}); add the transform that sets it or '
                               f'drop it from meta_keys')
        data = {'img_metas': img_meta}
        for key in self.keys:
            if key not in results:
                raise KeyError(f'Collect: key {key!r} is missing from the pipeline results '
                               f'(have {sorted(results)})')
            data[key] = results[key]
        return data

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(keys={self.keys}, meta_keys={self.meta_keys})'


@TRANSFORMS.register_module()
class WrapFieldsToLists:
    """Wrap every value in a one-element list (test-time layout without ``MultiScaleFlipAug``)."""

    def __call__(self, results: dict) -> dict:
        return {k: [v] for k, v in results.items()}
