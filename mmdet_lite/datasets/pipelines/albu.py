"""Albumentations transforms in a pipeline (mmdetection 2.x ``Albu``).

Needs the optional ``albumentations`` package: ``pip install "mmdet_lite[albu]"``.
"""
import copy
import inspect
from typing import Dict, List, Optional

import numpy as np

from ...core.mask.structures import BitmapMasks, PolygonMasks
from ...registry import TRANSFORMS

try:
    import albumentations
except ImportError:  # optional extra
    albumentations = None

# albumentations 1.4 renamed transforms used by 2.x configs; map the old call onto the new one
_RENAMED = {
    'JpegCompression': lambda args: ('ImageCompression', dict(
        {k: v for k, v in args.items() if k not in ('quality_lower', 'quality_upper')},
        quality_range=(args.get('quality_lower', 99), args.get('quality_upper', 100)))),
}


def albu_builder(cfg: dict):
    """Build an albumentations transform from ``dict(type=<name or class>, ...)``; nested
    ``transforms`` (``OneOf``, ``Compose``) are built too."""
    if not isinstance(cfg, dict) or 'type' not in cfg:
        raise ValueError(f'Albu: a transform must be a dict with a "type", got {cfg!r}')
    args = dict(cfg)
    obj_type = args.pop('type')
    if isinstance(obj_type, str):
        if obj_type in _RENAMED and not hasattr(albumentations, obj_type):
            obj_type, args = _RENAMED[obj_type](args)
        obj_cls = getattr(albumentations, obj_type, None)
        if obj_cls is None:
            raise KeyError(f'Albu: albumentations {albumentations.__version__} has no transform '
                           f'{obj_type!r}')
    elif inspect.isclass(obj_type):
        obj_cls = obj_type
    else:
        raise TypeError(f'Albu: type must be a name or a class, got {type(obj_type).__name__}')
    if 'transforms' in args:
        args['transforms'] = [albu_builder(t) for t in args['transforms']]
    return obj_cls(**args)


@TRANSFORMS.register_module()
class Albu:
    """Run an ``albumentations.Compose`` of ``transforms`` on the image, boxes and masks.

    Args:
        transforms: albumentations transform configs (``dict(type='Blur', ...)``).
        bbox_params: ``dict(type='BboxParams', format='pascal_voc', label_fields=[...])``; the
            2.x extra key ``filter_lost_elements=True`` drops the labels and masks of boxes
            that albumentations removed.
        keymap: pipeline key -> albumentations key; default img->image, gt_masks->masks,
            gt_bboxes->bboxes.
        update_pad_shape: set ``pad_shape`` to the new image shape.
        skip_img_without_anno: drop the sample (return ``None``) when every box was removed
            (with ``filter_lost_elements``).
    """

    def __init__(self, transforms: List[dict], bbox_params: Optional[dict] = None,
                 keymap: Optional[Dict[str, str]] = None, update_pad_shape: bool = False,
                 skip_img_without_anno: bool = False):
        if albumentations is None:
            raise ImportError('Albu needs the optional package albumentations: '
                              'pip install "mmdet_lite[albu]" (or pip install albumentations)')
        self.transforms = copy.deepcopy(transforms)
        bbox_params = copy.deepcopy(bbox_params)
        self.update_pad_shape = update_pad_shape
        self.skip_img_without_anno = skip_img_without_anno
        self.filter_lost_elements = bool(isinstance(bbox_params, dict)
                                         and 'label_fields' in bbox_params
                                         and bbox_params.pop('filter_lost_elements', False))
        self.origin_label_fields: List[str] = []
        if self.filter_lost_elements:
            # albumentations filters only label fields: track the box indices as one
            self.origin_label_fields = list(bbox_params['label_fields'])
            bbox_params['label_fields'] = ['idx_mapper']
        self.bbox_params = albu_builder(bbox_params) if bbox_params else None
        self.aug = albumentations.Compose([albu_builder(t) for t in self.transforms],
                                          bbox_params=self.bbox_params)
        self.keymap_to_albu = dict(keymap) if keymap else {
            'img': 'image', 'gt_masks': 'masks', 'gt_bboxes': 'bboxes'}
        self.keymap_back = {v: k for k, v in self.keymap_to_albu.items()}
        self.label_fields = list(getattr(self.bbox_params, 'label_fields', None) or [])

    def _to_albu(self, results: dict) -> dict:
        data = {}
        for key, albu_key in self.keymap_to_albu.items():
            if key in results:
                data[albu_key] = results[key]
        if 'masks' in data:
            if isinstance(data['masks'], PolygonMasks):
                raise TypeError('Albu handles bitmap masks only; load masks with '
                                'LoadAnnotations(poly2mask=True)')
            data['masks'] = list(data['masks'].masks)
        if 'bboxes' in data:
            data['bboxes'] = np.asarray(data['bboxes'], np.float32).reshape(-1, 4)
            if self.filter_lost_elements:
                data['idx_mapper'] = np.arange(len(data['bboxes']))
        for field in self.origin_label_fields + self.label_fields:
            if field in results and field not in data:
                data[field] = results[field]
        return data

    def __call__(self, results: dict) -> Optional[dict]:
        ori_masks = results.get(self.keymap_back.get('masks', 'gt_masks'))
        out = self.aug(**self._to_albu(results))
        if 'bboxes' in out:
            out['bboxes'] = np.asarray(out['bboxes'], np.float32).reshape(-1, 4)
        if 'masks' in out:
            img_h, img_w = out['image'].shape[:2]
            masks = [np.asarray(m) for m in out['masks']]
            if self.filter_lost_elements and 'idx_mapper' in out:
                masks = [masks[int(i)] for i in out['idx_mapper']]
            out['masks'] = type(ori_masks)(masks, img_h, img_w) if isinstance(
                ori_masks, BitmapMasks) else BitmapMasks(masks, img_h, img_w)
        if self.filter_lost_elements and 'idx_mapper' in out:
            kept = np.asarray(out.pop('idx_mapper'), np.int64)
            for field in self.origin_label_fields:
                if field in results:
                    out[field] = np.asarray(results[field])[kept]
            if len(kept) == 0 and self.skip_img_without_anno:
                return None
        for albu_key, value in out.items():
            results[self.keymap_back.get(albu_key, albu_key)] = value
        if 'gt_labels' in results:
            results['gt_labels'] = np.asarray(results['gt_labels']).astype(np.int64)
        results['img_shape'] = results['img'].shape
        if self.update_pad_shape:
            results['pad_shape'] = results['img'].shape
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(transforms={self.transforms})'
