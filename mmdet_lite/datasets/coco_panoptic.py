"""COCO panoptic annotations (mmdetection 2.x ``CocoPanopticDataset``): loading only.

The json lists, per image, the segments of its panoptic PNG (``segments_info``: id,
category_id, iscrowd, bbox, area). ``get_ann_info`` gives what ``LoadPanopticAnnotations``
needs: boxes and labels of the *thing* segments (crowd things become ignore boxes), and every
segment as ``dict(id, category, is_thing)`` plus the PNG name (``seg_map``).
Evaluation (panoptic quality through ``panopticapi``, which is not on PyPI) is not implemented.
"""
import json
import os.path as osp
from collections import OrderedDict
from typing import Dict, List, Optional

import numpy as np

from ..registry import DATASETS
from .custom import CustomDataset


@DATASETS.register_module()
class CocoPanopticDataset(CustomDataset):
    """Labels are the file's categories in file order (things then stuff in COCO's 133-class
    file, the order of 2.x's ``CLASSES``); ``THING_CLASSES`` / ``STUFF_CLASSES`` follow
    ``isthing``.

    Args:
        ins_ann_file: 2.x's instance-annotation file for bbox/segm evaluation; kept for config
            compatibility (evaluation is not implemented).
        Other arguments as ``CustomDataset``.
    """

    CLASSES = None

    def __init__(self, ann_file: str, pipeline: list, ins_ann_file: Optional[str] = None,
                 **kwargs):
        self.ins_ann_file = ins_ann_file
        super().__init__(ann_file, pipeline, **kwargs)

    def load_annotations(self, ann_file: str) -> List[dict]:
        if not osp.isfile(ann_file):
            raise FileNotFoundError(f'COCO panoptic file {ann_file!r} not found (check '
                                    'data_root and ann_file)')
        with open(ann_file) as f:
            data = json.load(f)
        missing = [k for k in ('images', 'annotations', 'categories') if k not in data]
        if missing:
            raise ValueError(f'COCO panoptic file {ann_file!r} lacks {missing}')
        cats = data['categories']
        names = tuple(c['name'] for c in cats)
        if self.CLASSES is not None and tuple(self.CLASSES) != names:
            raise ValueError(f'CocoPanopticDataset labels every category of {ann_file} '
                             f'({len(names)}); classes=(...) must be None or those names')
        self.CLASSES = names
        self.THING_CLASSES = tuple(c['name'] for c in cats if c.get('isthing'))
        self.STUFF_CLASSES = tuple(c['name'] for c in cats if not c.get('isthing'))
        self.cat_ids = [c['id'] for c in cats]
        self.cat2label = {cat_id: i for i, cat_id in enumerate(self.cat_ids)}
        self.is_thing: Dict[int, bool] = {c['id']: bool(c.get('isthing')) for c in cats}
        per_image = {a['image_id']: a for a in data['annotations']}
        self.segments: Dict[int, List[dict]] = {}
        infos = []
        for img in data['images']:
            info = dict(img, filename=img['file_name'])
            ann = per_image.get(img['id'])
            info['segm_file'] = ann['file_name'] if ann else \
                osp.splitext(img['file_name'])[0] + '.png'
            self.segments[img['id']] = ann['segments_info'] if ann else []
            infos.append(info)
        return infos

    def get_ann_info(self, idx: int) -> dict:
        info = self.data_infos[idx]
        bboxes, labels, ignore, segments = [], [], [], []
        for seg in self.segments[info['id']]:
            x1, y1, w, h = seg['bbox']
            if seg.get('area', 1) <= 0 or w < 1 or h < 1:
                continue
            label = self.cat2label[seg['category_id']]
            is_thing = self.is_thing[seg['category_id']]
            if is_thing:
                if seg.get('iscrowd', False):
                    ignore.append([x1, y1, x1 + w, y1 + h])
                    is_thing = False  # crowd regions stay in the semantic map only
                else:
                    bboxes.append([x1, y1, x1 + w, y1 + h])
                    labels.append(label)
            segments.append(dict(id=seg['id'], category=label, is_thing=is_thing))
        return dict(bboxes=np.array(bboxes, np.float32).reshape(-1, 4),
                    labels=np.array(labels, np.int64),
                    bboxes_ignore=np.array(ignore, np.float32).reshape(-1, 4),
                    masks=segments, seg_map=info['segm_file'])

    def get_cat_ids(self, idx: int) -> List[int]:
        return [s['category_id'] for s in self.segments[self.data_infos[idx]['id']]]

    def _filter_imgs(self, min_size: int = 32) -> List[int]:
        """Images of at least ``min_size`` px holding a thing segment (if filter_empty_gt)."""
        valid = []
        for i, info in enumerate(self.data_infos):
            has_thing = any(self.is_thing[s['category_id']] for s in self.segments[info['id']])
            if self.filter_empty_gt and not has_thing:
                continue
            if min(info['width'], info['height']) >= min_size:
                valid.append(i)
        return valid

    def evaluate(self, results: list, metric='PQ', logger=None, **kwargs) -> OrderedDict:
        raise NotImplementedError(
            'CocoPanopticDataset.evaluate: panoptic quality (panopticapi, not on PyPI) and the '
            'ins_ann_file bbox/segm metrics are not implemented; panoptic models are not part '
            'of mmdet_lite yet')
