"""LVIS v0.5 and v1 instance annotations (mmdetection 2.x ``LVISV05Dataset`` / ``LVISDataset``
and ``LVISV1Dataset``): loading only.

The files are COCO-like; what differs is handled when the file is read: image entries name
their file differently, and the class names (1230 in v0.5, 1203 in v1) are taken from the
file's categories in id order, which is the order of 2.x's ``CLASSES`` tuples, so label i is
the i-th category by id as in 2.x. Give ``classes=(...)`` to train on a subset.
Evaluation is not available: LVIS AP is a federated protocol (per-image negative and
not-exhaustive categories) implemented by the ``lvis`` package, whose last release dates from
2020; plain COCO AP on LVIS files would be a different number, so it is refused too.
"""
from abc import ABCMeta, abstractmethod
from collections import OrderedDict

from ..registry import DATASETS
from .api_wrappers.coco_api import COCO
from .coco import CocoDataset, category_names_by_id, load_coco_json


class _LVISBase(CocoDataset, metaclass=ABCMeta):
    """What the LVIS versions share: class names from the file, no evaluation."""

    CLASSES = None

    @staticmethod
    @abstractmethod
    def _file_name(info: dict) -> str:
        """The image path below ``img_prefix`` for an LVIS image entry."""

    def _load_coco(self, ann_file: str) -> COCO:
        coco = load_coco_json(ann_file)
        for info in coco.dataset['images']:  # the index holds these same dicts
            info['file_name'] = self._file_name(info)
        if self.CLASSES is None:
            self.CLASSES = category_names_by_id(coco)
        return coco

    def evaluate(self, results: list, metric='bbox', logger=None, **kwargs) -> OrderedDict:
        raise NotImplementedError(
            f'{self.__class__.__name__}.evaluate: LVIS AP (the federated protocol of the lvis '
            'package, unmaintained since 2020) is not implemented; train on LVIS with '
            'mmdet_lite and evaluate the saved results (tools/test.py --format-only) with the '
            'lvis package')


@DATASETS.register_module(name=['LVISV05Dataset', 'LVISDataset'])
class LVISV05Dataset(_LVISBase):
    """LVIS v0.5 (1230 classes); images in the 2017 COCO layout (``000000391895.jpg``), the
    entries' 2014 names (``COCO_val2014_000000391895.jpg``) shortened as 2.x did."""

    @staticmethod
    def _file_name(info: dict) -> str:
        name = info['file_name']
        return name[-16:] if name.startswith('COCO') else name


LVISDataset = LVISV05Dataset


@DATASETS.register_module()
class LVISV1Dataset(_LVISBase):
    """LVIS v1 (1203 classes); entries carry ``coco_url`` only, and the image path is the
    URL's last two parts (``train2017/000000391895.jpg``), as 2.x read it."""

    @staticmethod
    def _file_name(info: dict) -> str:
        return '/'.join(info['coco_url'].split('/')[-2:])
