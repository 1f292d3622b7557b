"""COCO-format detection / instance segmentation dataset with pycocotools evaluation (2.x)."""
import json
import os.path as osp
import tempfile
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple, Union

import mmengine
import numpy as np
from mmengine.logging import print_log

from ..core.evaluation.class_names import coco_classes
from ..core.evaluation.recall import eval_recalls
from ..evaluation.coco_eval import (COCO_METRIC_NAMES, classwise_ap_table, default_iou_thrs,
                                    run_coco_eval)
from ..registry import DATASETS
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
        self._check_annotations(ann_file, file_cats)
        self.img_ids = self.coco.get_img_ids()
        data_infos = []
        for img_id in self.img_ids:
            info = dict(self.coco.load_imgs([img_id])[0])
            for key in ('file_name', 'width', 'height'):
                if key not in info:
                    raise ValueError(f'{ann_file}: image entry {info} lacks {key!r}')
            info['filename'] = info['file_name']
            data_infos.append(info)
        return data_infos

    def _check_annotations(self, ann_file: str, file_cats: Dict[int, str]) -> None:
        """Fail on unknown category ids; log (once) how many tiny boxes will be dropped."""
        tiny = []
        for ann in self.coco.dataset['annotations']:
            if ann.get('category_id') not in file_cats:
                raise ValueError(
                    f'{ann_file}: annotation id={ann.get("id")} (image_id={ann.get("image_id")}) '
                    f'has category_id={ann.get("category_id")!r}, which is not a category of the '
                    f'file; known category ids: {sorted(file_cats)}')
            if 'bbox' not in ann:
                raise ValueError(f'{ann_file}: annotation id={ann.get("id")} has no bbox')
            w, h = ann['bbox'][2:4]
            if ann.get('category_id') in self.cat2label and (w < 1 or h < 1 or
                                                              ann.get('area', 1) <= 0):
                tiny.append(ann.get('id'))
        if tiny:
            print_log(f'{self.__class__.__name__}: {len(tiny)} of {len(self.coco.anns)} boxes in '
                      f'{ann_file} are narrower or shorter than 1 px (or have area 0) and are '
                      f'dropped (annotation ids {tiny[:5]}{", ..." if len(tiny) > 5 else ""})',
                      logger='current')

    def get_ann_info(self, idx: int) -> dict:
        img_id = self.data_infos[idx]['id']
        anns = self.coco.load_anns(self.coco.get_ann_ids(img_ids=[img_id]))
        return self._parse_ann_info(self.data_infos[idx], anns)

    def get_cat_ids(self, idx: int) -> List[int]:
        img_id = self.data_infos[idx]['id']
        return [a['category_id'] for a in self.coco.load_anns(self.coco.get_ann_ids(img_ids=[img_id]))]

    def _filter_imgs(self, min_size: int = 32) -> List[int]:
        """Images of at least ``min_size`` px; without GT of ``classes`` dropped if filter_empty_gt."""
        with_ann = {a['image_id'] for a in self.coco.anns.values()
                    if a['category_id'] in self.cat2label}
        valid, valid_ids = [], []
        for i, info in enumerate(self.data_infos):
            if self.filter_empty_gt and info['id'] not in with_ann:
                continue
            if min(info['width'], info['height']) >= min_size:
                valid.append(i)
                valid_ids.append(info['id'])
        self.img_ids = valid_ids
        return valid

    def _parse_ann_info(self, img_info: dict, ann_info: List[dict]) -> dict:
        """Boxes xyxy float32 (n, 4), labels int64 (n,), crowd boxes, mask annotations."""
        bboxes, labels, ignore, masks = [], [], [], []
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
                masks.append(ann.get('segmentation'))
        return dict(
            bboxes=np.array(bboxes, dtype=np.float32).reshape(-1, 4),
            labels=np.array(labels, dtype=np.int64),
            bboxes_ignore=np.array(ignore, dtype=np.float32).reshape(-1, 4),
            masks=masks,
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
                 backend: str = 'pycocotools') -> OrderedDict:
        """COCO metrics: 'bbox', 'segm', 'proposal' (COCOeval) and 'proposal_fast'.

        Returns ``{metric}_mAP``, ``_mAP_50``, ``_mAP_75``, ``_mAP_s/m/l`` and
        ``{metric}_mAP_copypaste`` for bbox/segm, ``AR@N`` items for proposals.
        ``backend='faster'`` uses faster-coco-eval (same numbers).
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
        print_log('\n' + coco_out.summary, logger=logger)
        if classwise and not is_proposal:
            cat_names = [self.coco.load_cats(c)[0]['name'] for c in self.cat_ids]
            print_log('\n' + classwise_ap_table(coco_out.precision, cat_names), logger=logger)
        out = {k: float(coco_out.stats[COCO_METRIC_NAMES[n]]) for k, n in zip(keys, names)}
        if not is_proposal:
            out[f'{metric}_mAP_copypaste'] = ' '.join(f'{v:.3f}' for v in coco_out.stats[:6])
        return out
