"""mmdetection 2.x ``CustomDataset``: the middle format every dataset converts to.

Middle format (a list with one dict per image)::

    dict(filename='a.jpg', width=640, height=480,
         ann=dict(bboxes=ndarray (n, 4) float32 xyxy, labels=ndarray (n,) int64,
                  bboxes_ignore=ndarray (k, 4), labels_ignore=ndarray (k,)))
"""
import copy
import os.path as osp
import warnings
from collections import OrderedDict
from typing import List, Optional, Sequence, Tuple, Union

import mmengine
import numpy as np
from mmengine.logging import print_log
from terminaltables import AsciiTable
from torch.utils.data import Dataset

from ..core.evaluation.mean_ap import eval_map
from ..core.evaluation.recall import eval_recalls
from ..registry import DATASETS
from .pipelines.compose import Compose


@DATASETS.register_module()
class CustomDataset(Dataset):
    """Images with boxes in the middle format, loaded from a pickle/json list.

    Args:
        ann_file: annotation file (relative to ``data_root`` when that is given).
        pipeline: list of transform configs.
        classes: class names (tuple/list) or a text file with one name per line;
            ``None`` keeps the class attribute ``CLASSES``.
        data_root: joined in front of relative ``ann_file``, ``img_prefix``, ``seg_prefix``,
            ``proposal_file``.
        test_mode: no filtering, no GT loaded, no aspect-ratio ``flag``.
        filter_empty_gt: in training, drop images without GT (and retry on empty samples).
    """

    CLASSES: Optional[Tuple[str, ...]] = None
    PALETTE = None

    def __init__(self, ann_file: str, pipeline: Sequence[dict],
                 classes: Union[None, str, Sequence[str]] = None, data_root: Optional[str] = None,
                 img_prefix: Optional[str] = '', seg_prefix: Optional[str] = None,
                 seg_suffix: str = '.png', proposal_file: Optional[str] = None,
                 test_mode: bool = False, filter_empty_gt: bool = True,
                 file_client_args: Optional[dict] = None):
        self.ann_file = ann_file
        self.data_root = data_root
        self.img_prefix = img_prefix
        self.seg_prefix = seg_prefix
        self.seg_suffix = seg_suffix
        self.proposal_file = proposal_file
        self.test_mode = test_mode
        self.filter_empty_gt = filter_empty_gt
        self.file_client_args = copy.deepcopy(file_client_args) if file_client_args else None
        self.CLASSES = self.get_classes(classes)
        if self.data_root is not None:
            self.ann_file = self._join_root(self.ann_file)
            self.img_prefix = self._join_root(self.img_prefix)
            self.seg_prefix = self._join_root(self.seg_prefix)
            self.proposal_file = self._join_root(self.proposal_file)
        self.data_infos = self.load_annotations(self.ann_file)
        self.proposals = (self.load_proposals(self.proposal_file)
                          if self.proposal_file is not None else None)
        if not test_mode:
            valid = self._filter_imgs()
            self.data_infos = [self.data_infos[i] for i in valid]
            if self.proposals is not None:
                self.proposals = [self.proposals[i] for i in valid]
            self._set_group_flag()
        self.pipeline = Compose(copy.deepcopy(list(pipeline)))

    def _join_root(self, path: Optional[str]) -> Optional[str]:
        if path is None or osp.isabs(path):
            return path
        return osp.join(self.data_root, path)

    def __len__(self) -> int:
        return len(self.data_infos)

    @property
    def metainfo(self) -> dict:
        return dict(classes=self.CLASSES)

    def load_annotations(self, ann_file: str) -> List[dict]:
        """The middle-format list stored in ``ann_file`` (pickle or json)."""
        if not osp.isfile(ann_file):
            raise FileNotFoundError(f'annotation file {ann_file!r} not found (check data_root '
                                    f'and ann_file)')
        return mmengine.load(ann_file)

    def load_proposals(self, proposal_file: str) -> list:
        return mmengine.load(proposal_file)

    def get_ann_info(self, idx: int) -> dict:
        return self.data_infos[idx]['ann']

    def get_cat_ids(self, idx: int) -> List[int]:
        return np.asarray(self.get_ann_info(idx)['labels']).astype(np.int64).tolist()

    def pre_pipeline(self, results: dict) -> None:
        """Keys every pipeline expects: prefixes and the empty field lists."""
        results['img_prefix'] = self.img_prefix
        results['seg_prefix'] = self.seg_prefix
        results['proposal_file'] = self.proposal_file
        results['ann_file'] = self.ann_file
        results['bbox_fields'] = []
        results['mask_fields'] = []
        results['seg_fields'] = []
        img_id = results.get('img_info', {}).get('id')
        if img_id is not None:
            results['img_id'] = img_id

    def _filter_imgs(self, min_size: int = 32) -> List[int]:
        """Indices of images whose shorter side is at least ``min_size``."""
        if self.filter_empty_gt:
            warnings.warn('CustomDataset does not filter images without GT at load time; '
                          'empty samples are retried in __getitem__')
        return [i for i, info in enumerate(self.data_infos)
                if min(info['width'], info['height']) >= min_size]

    def _set_group_flag(self) -> None:
        """``flag[i] = 1`` for landscape images (w / h > 1), else 0."""
        self.flag = np.array([1 if info['width'] / info['height'] > 1 else 0
                              for info in self.data_infos], dtype=np.uint8)

    def _rand_another(self, idx: int) -> int:
        pool = np.where(self.flag == self.flag[idx])[0]
        return int(np.random.choice(pool))

    def __getitem__(self, idx: int) -> dict:
        if self.test_mode:
            return self.prepare_test_img(idx)
        for _ in range(max(len(self), 1) * 10):
            data = self.prepare_train_img(idx)
            if data is not None and not self._is_empty(data):
                return data
            idx = self._rand_another(idx)
        raise RuntimeError(f'{self.__class__.__name__}: no training sample with ground truth '
                           f'found after many retries ({self.ann_file}); check the annotations '
                           f'or set filter_empty_gt=False')

    def _is_empty(self, data: dict) -> bool:
        """Training sample with no GT box left after the pipeline (2.x retries these)."""
        if not self.filter_empty_gt or 'gt_bboxes' not in data:
            return False
        return len(data['gt_bboxes']) == 0

    def prepare_train_img(self, idx: int) -> Optional[dict]:
        results = dict(img_info=self.data_infos[idx], ann_info=self.get_ann_info(idx))
        if self.proposals is not None:
            results['proposals'] = self.proposals[idx]
        self.pre_pipeline(results)
        return self.pipeline(results)

    def prepare_test_img(self, idx: int) -> dict:
        results = dict(img_info=self.data_infos[idx])
        if self.proposals is not None:
            results['proposals'] = self.proposals[idx]
        self.pre_pipeline(results)
        return self.pipeline(results)

    @classmethod
    def get_classes(cls, classes: Union[None, str, Sequence[str]] = None
                    ) -> Union[Tuple[str, ...], List[str]]:
        """The class names: the class default, a copy of the given list or tuple (its type kept,
        as 2.x kept it), or the list of names of a file with one name per line (as 2.x)."""
        if classes is None:
            return cls.CLASSES
        if isinstance(classes, str):
            if not osp.isfile(classes):
                raise FileNotFoundError(f'classes file {classes!r} not found; give a tuple of '
                                        f'names or a text file with one name per line')
            with open(classes) as f:
                return [line.strip() for line in f if line.strip()]  # a list, as 2.x
        if isinstance(classes, (tuple, list)):
            return type(classes)(classes)
        raise ValueError(f'unsupported type {type(classes).__name__} of classes; use a tuple '
                         f'of names or a file path')

    def format_results(self, results: list, **kwargs):
        """Nothing to format for the middle format (2.x)."""

    def evaluate(self, results: list, metric: Union[str, List[str]] = 'mAP', logger=None,
                 proposal_nums: Sequence[int] = (100, 300, 1000),
                 iou_thr: Union[float, List[float]] = 0.5,
                 scale_ranges: Optional[List[Tuple[float, float]]] = None) -> OrderedDict:
        """VOC-style ``mAP`` (area AP at ``iou_thr``) or proposal ``recall``."""
        return self._evaluate_map_or_recall(results, metric, logger, proposal_nums, iou_thr,
                                            scale_ranges, map_dataset=self.CLASSES)

    def _evaluate_map_or_recall(self, results: list, metric: Union[str, List[str]], logger,
                                proposal_nums: Sequence[int],
                                iou_thr: Union[float, List[float]],
                                scale_ranges: Optional[List[Tuple[float, float]]],
                                map_dataset: Union[None, str, Sequence[str]],
                                eval_mode: Optional[str] = None,
                                use_legacy_coordinate: bool = False) -> OrderedDict:
        """The one-metric ``mAP`` / ``recall`` evaluation behind :meth:`evaluate`.

        ``results`` per image: a list over classes of (n, 5) arrays for ``mAP``, an (n, 4|5)
        array of proposals for ``recall``. ``map_dataset`` names the classes in the mAP table;
        ``eval_mode`` and ``use_legacy_coordinate`` go to ``eval_map`` / ``eval_recalls``.
        """
        if not isinstance(metric, str):
            if len(metric) != 1:
                raise ValueError(f'{self.__class__.__name__}.evaluate takes one metric, got {metric}')
            metric = metric[0]
        if metric not in ('mAP', 'recall'):
            raise KeyError(f"metric {metric!r} is not supported; use 'mAP' or 'recall'")
        if len(results) != len(self):
            raise ValueError(f'{len(results)} results for {len(self)} images')
        annotations = [self.get_ann_info(i) for i in range(len(self))]
        iou_thrs = [iou_thr] if isinstance(iou_thr, float) else list(iou_thr)
        eval_results = OrderedDict()
        if metric == 'mAP':
            mean_aps = []
            for thr in iou_thrs:
                print_log(f'\n{"-" * 15}iou_thr: {thr}{"-" * 15}', logger=logger)
                mean_ap, _ = eval_map(results, annotations, scale_ranges=scale_ranges,
                                      iou_thr=thr, dataset=map_dataset, logger=logger,
                                      use_legacy_coordinate=use_legacy_coordinate,
                                      eval_mode=eval_mode)
                mean_aps.append(mean_ap)
                eval_results[f'AP{int(thr * 100):02d}'] = round(float(mean_ap), 3)
            eval_results['mAP'] = float(sum(mean_aps) / len(mean_aps))
        else:
            gt_bboxes = [ann['bboxes'] for ann in annotations]
            recalls = eval_recalls(gt_bboxes, results, proposal_nums, iou_thrs, logger=logger,
                                   use_legacy_coordinate=use_legacy_coordinate)
            for i, num in enumerate(proposal_nums):
                for j, thr in enumerate(iou_thrs):
                    eval_results[f'recall@{num}@{thr}'] = float(recalls[i, j])
            if recalls.shape[1] > 1:
                for i, num in enumerate(proposal_nums):
                    eval_results[f'AR@{num}'] = float(recalls[i].mean())
        return eval_results

    def __repr__(self) -> str:
        mode = 'Test' if self.test_mode else 'Train'
        text = f'\n{self.__class__.__name__} {mode} dataset with {len(self)} images\n'
        if self.CLASSES is None:
            return text + 'Category names are not provided.\n'
        counts = np.zeros(len(self.CLASSES) + 1, dtype=int)
        for i in range(len(self)):
            labels = np.asarray(self.get_ann_info(i)['labels'])
            counts[:len(self.CLASSES)] += np.bincount(labels, minlength=len(self.CLASSES))
            counts[-1] += int(len(labels) == 0)
        rows = [['category', 'count']] + [[f'{i} [{n}]', int(c)] for i, (n, c) in
                                          enumerate(zip(self.CLASSES, counts))]
        rows.append(['-1 background', int(counts[-1])])
        return text + AsciiTable(rows).table
