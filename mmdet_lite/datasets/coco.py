"""COCO-format detection / instance segmentation dataset with pycocotools evaluation (2.x)."""
import json
import logging
import os.path as osp
import tempfile
from collections import Counter, OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple, Union

import mmengine
import numpy as np
from mmengine.logging import print_log

from ..core.evaluation.class_names import coco_classes
from ..core.evaluation.recall import eval_recalls
from ..evaluation.coco_eval import (COCO_METRIC_NAMES, classwise_ap_table, default_iou_thrs,
                                    run_coco_eval)
from ..registry import DATASETS
from .annotation_error import AnnotationError, DuplicateIdError
from .api_wrappers.coco_api import COCO
from .coco_results import results2json
from .custom import CustomDataset

_REQUIRED_KEYS = ('images', 'annotations', 'categories')


def load_coco_json(ann_file: str) -> COCO:
    """A pycocotools ``COCO`` for ``ann_file``, with clear errors for bad files."""
    if not osp.isfile(ann_file):
        raise FileNotFoundError(f'COCO annotation file {ann_file!r} not found (check data_root '
                                f'and ann_file)')
    try:
        with open(ann_file) as f:
            data = json.load(f)
    except json.JSONDecodeError as e:
        raise ValueError(f'COCO annotation file {ann_file!r} is not valid JSON: {e}') from e
    if not isinstance(data, dict):
        raise ValueError(f'COCO annotation file {ann_file!r} must hold a JSON object with keys '
                         f'{list(_REQUIRED_KEYS)}, got a {type(data).__name__}')
    missing = [k for k in _REQUIRED_KEYS if k not in data]
    if missing:
        raise ValueError(f'COCO annotation file {ann_file!r} lacks the key(s) {missing}; a COCO '
                         f'file needs {list(_REQUIRED_KEYS)} (found {sorted(data)})')
    coco = COCO()
    coco.dataset = data
    coco.createIndex()
    return coco


def first_ids(ids: Sequence, count: int = 5) -> str:
    """``[a, b, ...]``: the first ``count`` ids for a log line."""
    return f'[{", ".join(map(str, ids[:count]))}{", ..." if len(ids) > count else ""}]'


def valid_polygons(segmentation: list) -> list:
    """The polygons of a COCO polygon list with 3 or more points (an even number >= 6 of
    coordinates); pycocotools reads a 4-number polygon as a box."""
    return [p for p in segmentation
            if isinstance(p, (list, tuple)) and len(p) >= 6 and len(p) % 2 == 0]


def check_unique_ids(data: dict, ann_file: str) -> None:
    """Duplicate image or annotation ids are an error (pycocotools' index keeps the last of
    each: annotations would be lost or doubled, two images merged into one)."""
    for key in ('images', 'annotations'):
        counts = Counter(entry.get('id') for entry in data.get(key) or [])
        repeated = sorted((i for i, n in counts.items() if n > 1), key=str)
        if repeated:
            kind = key[:-1]
            times = ', '.join(f'id {i}: {counts[i]} times' for i in repeated[:3])
            raise DuplicateIdError(
                f'{ann_file}: {len(repeated)} {kind} ids occur more than once in "{key}": '
                f'{first_ids(repeated, 10)} ({times}). Give every {kind} its own id'
                + (" (and fix the image_id of the annotations of the renumbered images)"
                   if key == 'images' else ''))


def category_names_by_id(coco: COCO) -> Tuple[str, ...]:
    """The file's category names in id order (datasets whose 2.x ``CLASSES`` list every
    category of the file, sorted by id: LVIS, Objects365)."""
    return tuple(c['name'] for c in sorted(coco.dataset['categories'], key=lambda c: c['id']))


@DATASETS.register_module()
class CocoDataset(CustomDataset):
    """COCO json: boxes, labels, crowd regions (as ``bboxes_ignore``) and polygon/RLE masks.

    ``classes`` selects (and orders) a subset of the file's categories by name; annotations of
    other categories are skipped. With ``classes=None`` the file's categories must be COCO's 80.
    """

    CLASSES = tuple(coco_classes())

    def _load_coco(self, ann_file: str) -> COCO:
        """The annotation file as a ``COCO`` index (subclasses adapt COCO-like formats)."""
        return load_coco_json(ann_file)

    def load_annotations(self, ann_file: str) -> List[dict]:
        self.coco = self._load_coco(ann_file)
        file_cats = {c['id']: c['name'] for c in self.coco.dataset['categories']}
        names_in_file = set(file_cats.values())
        if self.CLASSES is None:
            raise ValueError(f'{self.__class__.__name__} has no CLASSES; set classes=(...)')
        unknown = [n for n in self.CLASSES if n not in names_in_file]
        if unknown and tuple(self.CLASSES) == tuple(coco_classes()):
            # never fall back silently to COCO's 80 classes for a file with other categories
            raise ValueError(f'{ann_file}: the dataset uses COCO\'s 80 classes (classes=None) '
                             f'but the file lacks {len(unknown)} of them ({unknown[:5]}...); set '
                             f'classes=(...) in the dataset config to the names you train on; '
                             f'the file\'s categories (id: name) are {file_cats}')
        if unknown:
            raise ValueError(f'{ann_file}: classes {unknown} are not among the file\'s '
                             f'categories (id: name) {file_cats}')
        self.cat_ids = self.coco.get_cat_ids(cat_names=list(self.CLASSES))
        # pycocotools returns ids in file order; labels follow the order of CLASSES
        name_to_id = {file_cats[i]: i for i in self.cat_ids}
        self.cat_ids = [name_to_id[n] for n in self.CLASSES if n in name_to_id]
        self.cat2label = {cat_id: i for i, cat_id in enumerate(self.cat_ids)}
        check_unique_ids(self.coco.dataset, ann_file)
        self.img_ids = self.coco.get_img_ids()
        data_infos = []
        for img_id in self.img_ids:
            info = dict(self.coco.load_imgs([img_id])[0])
            for key in ('file_name', 'width', 'height'):
                if key not in info:
                    raise AnnotationError(f'{ann_file}: image entry {info} lacks {key!r}')
            info['filename'] = info['file_name']
            data_infos.append(info)
        self._check_annotations(ann_file, file_cats)
        return data_infos

    def _check_annotations(self, ann_file: str, file_cats: Dict[int, str]) -> None:
        """Fail on unknown category ids; log one line per kind of annotation that is dropped
        or changed (tiny or outside boxes, degenerate polygons, ...)."""
        imgs = self.coco.imgs
        tiny, outside, past_border, orphans, some_polygons, no_polygon = [], [], [], [], [], []
        for ann in self.coco.dataset['annotations']:
            if ann.get('category_id') not in file_cats:
                raise AnnotationError(
                    f'{ann_file}: annotation id={ann.get("id")} (image_id={ann.get("image_id")}) '
                    f'has category_id={ann.get("category_id")!r}, which is not a category of the '
                    f'file; known category ids: {sorted(file_cats)}. Fix the annotation or add '
                    'the category to "categories"')
            if 'bbox' not in ann:
                raise AnnotationError(f'{ann_file}: annotation id={ann.get("id")} (image_id='
                                      f'{ann.get("image_id")}) has no bbox; add one or remove '
                                      'the annotation')
            if ann['category_id'] not in self.cat2label:
                continue
            ann_id, img = ann.get('id'), imgs.get(ann.get('image_id'))
            x1, y1, w, h = ann['bbox']
            if w < 1 or h < 1 or ann.get('area', 1) <= 0:
                tiny.append(ann_id)
            elif img is None:
                orphans.append(ann_id)
            elif x1 + w <= 0 or y1 + h <= 0 or x1 >= img['width'] or y1 >= img['height']:
                outside.append(ann_id)
            elif (x1 < -1 or y1 < -1 or x1 + w > img['width'] + 1
                  or y1 + h > img['height'] + 1):
                past_border.append(ann_id)
            segm = ann.get('segmentation')
            # an empty list is "no segmentation" (box-only files): kept for box training
            if isinstance(segm, list) and segm and not ann.get('iscrowd', False):
                kept = valid_polygons(segm)
                if not kept:
                    no_polygon.append(ann_id)
                elif len(kept) < len(segm):
                    some_polygons.append(ann_id)
        name, total = self.__class__.__name__, len(self.coco.dataset['annotations'])
        if tiny:
            print_log(f'{name}: {len(tiny)} of {total} boxes in {ann_file} are narrower or '
                      f'shorter than 1 px (or have area 0) and are dropped (annotation ids '
                      f'{first_ids(tiny)})', logger='current')
        for ids, what in (
                (outside, 'lie entirely outside their image and are dropped'),
                (past_border, 'extend more than 1 px past their image\'s border; Resize clips '
                 'them to the image (bbox_clip_border=True, as mmdetection 2.x)'),
                (orphans, 'refer to an image_id that is not in "images" and are unused'),
                (no_polygon, 'have no polygon of 3 or more points; where masks are loaded, '
                 'they are left out (box and mask)'),
                (some_polygons, 'have polygons of fewer than 3 points; those polygons are '
                 'dropped')):
            if ids:
                print_log(f'{name}: {len(ids)} of {total} annotations in {ann_file} {what} '
                          f'(annotation ids {first_ids(ids)})', logger='current',
                          level=logging.WARNING)

    def get_ann_info(self, idx: int) -> dict:
        img_id = self.data_infos[idx]['id']
        anns = self.coco.load_anns(self.coco.get_ann_ids(img_ids=[img_id]))
        return self._parse_ann_info(self.data_infos[idx], anns)

    def get_cat_ids(self, idx: int) -> List[int]:
        img_id = self.data_infos[idx]['id']
        return [a['category_id'] for a in self.coco.load_anns(self.coco.get_ann_ids(img_ids=[img_id]))]

    def _filter_imgs(self, min_size: int = 32) -> List[int]:
        """Images of at least ``min_size`` px; without GT of ``classes`` dropped if
        filter_empty_gt (logged with their ids). No image left is an error."""
        with_ann = {a['image_id'] for a in self.coco.anns.values()
                    if a['category_id'] in self.cat2label}
        valid, valid_ids, empty, small = [], [], [], []
        for i, info in enumerate(self.data_infos):
            if self.filter_empty_gt and info['id'] not in with_ann:
                empty.append(info['id'])
            elif min(info['width'], info['height']) < min_size:
                small.append(info['id'])
            else:
                valid.append(i)
                valid_ids.append(info['id'])
        name = self.__class__.__name__
        if empty:
            print_log(f'{name}: {len(empty)} of {len(self.data_infos)} images in {self.ann_file} '
                      f'have no annotation of the classes and are not trained on '
                      f'(filter_empty_gt=True; image ids {first_ids(empty)})', logger='current')
        if small:
            print_log(f'{name}: {len(small)} of {len(self.data_infos)} images in {self.ann_file} '
                      f'are smaller than {min_size} px and are not trained on (image ids '
                      f'{first_ids(small)})', logger='current', level=logging.WARNING)
        if not valid:
            raise AnnotationError(
                f'{name}: no image of {self.ann_file} is left for training: of its '
                f'{len(self.data_infos)} images, {len(empty)} have no annotation of the classes '
                f'{tuple(self.CLASSES)[:8]} (filter_empty_gt=True) and {len(small)} are smaller '
                f'than {min_size} px. Check that classes=(...) names categories the file '
                f'annotates ({sorted(c["name"] for c in self.coco.dataset["categories"])[:8]}), '
                'or set filter_empty_gt=False')
        self.img_ids = valid_ids
        return valid

    def _parse_ann_info(self, img_info: dict, ann_info: List[dict]) -> dict:
        """Boxes xyxy float32 (n, 4), labels int64 (n,), crowd boxes, mask annotations (polygons
        of fewer than 3 points removed: ``[]`` when none is left, ``None`` without
        segmentation) and the annotation ids of the boxes (``ann_ids``)."""
        bboxes, labels, ignore, masks, ann_ids = [], [], [], [], []
        for ann in ann_info:
            if ann.get('ignore', False):
                continue
            x1, y1, w, h = ann['bbox']
            inter_w = max(0, min(x1 + w, img_info['width']) - max(x1, 0))
            inter_h = max(0, min(y1 + h, img_info['height']) - max(y1, 0))
            if inter_w * inter_h == 0 or ann.get('area', 1) <= 0 or w < 1 or h < 1:
                continue
            if ann['category_id'] not in self.cat2label:
                continue
            box = [x1, y1, x1 + w, y1 + h]
            if ann.get('iscrowd', False):
                ignore.append(box)
            else:
                bboxes.append(box)
                labels.append(self.cat2label[ann['category_id']])
                segm = ann.get('segmentation')
                # None: no segmentation (box-only converters write []); []: no valid polygon
                masks.append((valid_polygons(segm) if segm else None)
                             if isinstance(segm, list) else segm)
                ann_ids.append(ann.get('id'))
        return dict(
            bboxes=np.array(bboxes, dtype=np.float32).reshape(-1, 4),
            labels=np.array(labels, dtype=np.int64),
            bboxes_ignore=np.array(ignore, dtype=np.float32).reshape(-1, 4),
            masks=masks,
            ann_ids=ann_ids,
            seg_map=img_info['filename'].rsplit('.', 1)[0] + self.seg_suffix)

    def results2json(self, results: list, outfile_prefix: str) -> Dict[str, str]:
        """Write ``{prefix}.bbox.json`` / ``.segm.json`` / ``.proposal.json``; return the paths."""
        return results2json(results, outfile_prefix, self.img_ids, self.cat_ids)

    def format_results(self, results: list, jsonfile_prefix: Optional[str] = None, **kwargs):
        """COCO result files for ``results``; a temporary directory when no prefix is given."""
        if not isinstance(results, list):
            raise TypeError(f'results must be a list, got {type(results).__name__}')
        if len(results) != len(self):
            raise ValueError(f'{len(results)} results for a dataset of {len(self)} images')
        tmp_dir = None
        if jsonfile_prefix is None:
            tmp_dir = tempfile.TemporaryDirectory()
            jsonfile_prefix = osp.join(tmp_dir.name, 'results')
        else:
            mmengine.mkdir_or_exist(osp.dirname(osp.abspath(jsonfile_prefix)))
        return self.results2json(results, jsonfile_prefix), tmp_dir

    def fast_eval_recall(self, results: list, proposal_nums: Sequence[int],
                         iou_thrs: Sequence[float], logger=None) -> np.ndarray:
        """Average recall over ``iou_thrs`` for each proposal count, without pycocotools."""
        gt_bboxes = []
        for img_id in self.img_ids:
            anns = self.coco.load_anns(self.coco.get_ann_ids(img_ids=[img_id]))
            boxes = [[a['bbox'][0], a['bbox'][1], a['bbox'][0] + a['bbox'][2],
                      a['bbox'][1] + a['bbox'][3]] for a in anns
                     if not a.get('ignore', False) and not a.get('iscrowd', 0)]
            gt_bboxes.append(np.array(boxes, dtype=np.float32).reshape(-1, 4))
        recalls = eval_recalls(gt_bboxes, results, proposal_nums, iou_thrs, logger=logger)
        return recalls.mean(axis=1)

    def evaluate(self, results: list, metric: Union[str, List[str]] = 'bbox', logger=None,
                 jsonfile_prefix: Optional[str] = None, classwise: bool = False,
                 proposal_nums: Sequence[int] = (100, 300, 1000),
                 iou_thrs: Optional[Sequence[float]] = None,
                 metric_items: Union[None, str, List[str]] = None,
                 backend: str = 'auto') -> OrderedDict:
        """COCO metrics: 'bbox', 'segm', 'proposal' (COCOeval) and 'proposal_fast'.

        Returns ``{metric}_mAP``, ``_mAP_50``, ``_mAP_75``, ``_mAP_s/m/l`` and
        ``{metric}_mAP_copypaste`` for bbox/segm, ``AR@N`` items for proposals.
        ``backend``: 'auto' (faster-coco-eval when installed, else pycocotools; same numbers),
        'faster' or 'pycocotools'; the log names the one that ran.
        """
        metrics = list(metric) if isinstance(metric, (list, tuple)) else [metric]
        for m in metrics:
            if m not in ('bbox', 'segm', 'proposal', 'proposal_fast'):
                raise KeyError(f"metric {m!r} is not supported; use 'bbox', 'segm', 'proposal' "
                               f"or 'proposal_fast'")
        items = [metric_items] if isinstance(metric_items, str) else metric_items
        for item in items or []:
            if item not in COCO_METRIC_NAMES:
                raise KeyError(f'metric item {item!r} is not supported; use one of '
                               f'{list(COCO_METRIC_NAMES)}')
        iou_thrs = default_iou_thrs() if iou_thrs is None else np.asarray(iou_thrs)
        result_files, tmp_dir = self.format_results(results, jsonfile_prefix)
        eval_results = OrderedDict()
        try:
            for m in metrics:
                print_log(f'Evaluating {m}...', logger=logger)
                if m == 'proposal_fast':
                    if isinstance(results[0], tuple):
                        raise KeyError('proposal_fast is not supported for instance segmentation '
                                       'results')
                    ar = self.fast_eval_recall(results, proposal_nums, iou_thrs, logger='silent')
                    for i, num in enumerate(proposal_nums):
                        eval_results[f'AR@{num}'] = float(ar[i])
                    print_log(''.join(f'\nAR@{n}\t{a:.4f}' for n, a in zip(proposal_nums, ar)),
                              logger=logger)
                    continue
                eval_results.update(self._coco_metric(m, result_files, logger, classwise,
                                                      proposal_nums, iou_thrs, items, backend))
        finally:
            if tmp_dir is not None:
                tmp_dir.cleanup()
        return eval_results

    def _coco_metric(self, metric: str, result_files: Dict[str, str], logger, classwise: bool,
                     proposal_nums: Sequence[int], iou_thrs: np.ndarray,
                     metric_items: Optional[List[str]], backend: str) -> Dict[str, float]:
        """One of bbox / segm / proposal through COCOeval."""
        if metric not in result_files:
            raise KeyError(f'{metric} results are missing: the results hold '
                           f'{sorted(result_files)} (segm needs (bbox, segm) pairs per image)')
        predictions = mmengine.load(result_files[metric])
        if metric == 'segm':
            # Without the box, COCOeval uses the mask area for the small/medium/large split.
            for p in predictions:
                p.pop('bbox', None)
        is_proposal = metric == 'proposal'
        if is_proposal:
            names = metric_items or ['AR@100', 'AR@300', 'AR@1000', 'AR_s@1000', 'AR_m@1000',
                                     'AR_l@1000']
            keys = list(names)
        else:
            names = metric_items or ['mAP', 'mAP_50', 'mAP_75', 'mAP_s', 'mAP_m', 'mAP_l']
            keys = [f'{metric}_{n}' for n in names]
        if not predictions:
            print_log(f'{metric}: there are no detections in the results of the whole dataset; '
                      f'every {metric} metric is 0.', logger=logger, level=30)
            out = {k: 0.0 for k in keys}
            if not is_proposal:
                out[f'{metric}_mAP_copypaste'] = ' '.join(['0.000'] * 6)
            return out
        coco_out = run_coco_eval(self.coco, predictions, 'bbox' if is_proposal else metric,
                                 self.cat_ids, self.img_ids, max_dets=proposal_nums,
                                 iou_thrs=iou_thrs, use_cats=not is_proposal, backend=backend)
        print_log(f'{metric}: COCO evaluation by {coco_out.backend}\n' + coco_out.summary,
                  logger=logger)
        if classwise and not is_proposal:
            cat_names = [self.coco.load_cats(c)[0]['name'] for c in self.cat_ids]
            print_log('\n' + classwise_ap_table(coco_out.precision, cat_names), logger=logger)
        out = {k: float(coco_out.stats[COCO_METRIC_NAMES[n]]) for k, n in zip(keys, names)}
        if not is_proposal:
            out[f'{metric}_mAP_copypaste'] = ' '.join(f'{v:.3f}' for v in coco_out.stats[:6])
        return out
