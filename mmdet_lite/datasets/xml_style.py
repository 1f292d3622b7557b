"""Datasets annotated with one Pascal-VOC XML file per image (2.x ``XMLDataset``)."""
import os.path as osp
import xml.etree.ElementTree as ET
from typing import List, Optional

import numpy as np
from PIL import Image

from ..core.utils.errors import ConfigValueError
from ..registry import DATASETS
from .custom import CustomDataset


@DATASETS.register_module()
class XMLDataset(CustomDataset):
    """``ann_file`` lists image ids; ``img_prefix/Annotations/<id>.xml`` describes each image.

    Objects flagged ``difficult`` (or smaller than ``min_size``) become ``bboxes_ignore``.
    Coordinates are made 0-based by subtracting 1, as 2.x does for VOC.
    """

    def __init__(self, min_size: Optional[int] = None, img_subdir: str = 'JPEGImages',
                 ann_subdir: str = 'Annotations', **kwargs):
        self.img_subdir = img_subdir
        self.ann_subdir = ann_subdir
        self.min_size = min_size
        if not (self.CLASSES or kwargs.get('classes')):
            # before loading: reading the annotations needs the class names
            raise ConfigValueError(f'{self.__class__.__name__} has CLASSES=None: give '
                                   'classes=(...) or set CLASSES on the subclass')
        super().__init__(**kwargs)
        if not self.CLASSES:
            raise ConfigValueError(f'{self.__class__.__name__} needs classes=(...)')
        self.cat2label = {name: i for i, name in enumerate(self.CLASSES)}

    def _xml_path(self, img_id: str) -> str:
        return osp.join(self.img_prefix, self.ann_subdir, f'{img_id}.xml')

    def _parse_xml(self, img_id: str) -> ET.Element:
        path = self._xml_path(img_id)
        if not osp.isfile(path):
            raise FileNotFoundError(f'annotation {path!r} not found; it is listed as image id '
                                    f'{img_id!r} in {self.ann_file}')
        try:
            return ET.parse(path).getroot()
        except ET.ParseError as e:
            raise ValueError(f'annotation {path!r} (image id {img_id!r}) is not valid XML: {e}') \
                from e

    def load_annotations(self, ann_file: str) -> List[dict]:
        if not osp.isfile(ann_file):
            raise FileNotFoundError(f'image list {ann_file!r} not found (check data_root and '
                                    f'ann_file)')
        with open(ann_file) as f:
            img_ids = [line.strip() for line in f if line.strip()]
        infos = []
        for img_id in img_ids:
            filename = osp.join(self.img_subdir, f'{img_id}.jpg')
            size = self._parse_xml(img_id).find('size')
            if size is not None:
                width, height = int(size.find('width').text), int(size.find('height').text)
            else:
                with Image.open(osp.join(self.img_prefix, filename)) as img:
                    width, height = img.size
            infos.append(dict(id=img_id, filename=filename, width=width, height=height))
        return infos

    def _filter_imgs(self, min_size: int = 32) -> List[int]:
        """Images of at least ``min_size`` px, holding an object of ``classes`` if filter_empty_gt."""
        valid = []
        for i, info in enumerate(self.data_infos):
            if min(info['width'], info['height']) < min_size:
                continue
            if self.filter_empty_gt:
                names = [obj.find('name').text for obj in self._parse_xml(info['id']).findall('object')]
                if not any(n in self.CLASSES for n in names):
                    continue
            valid.append(i)
        return valid

    def get_ann_info(self, idx: int) -> dict:
        root = self._parse_xml(self.data_infos[idx]['id'])
        boxes, labels, boxes_ignore, labels_ignore = [], [], [], []
        for obj in root.findall('object'):
            name = obj.find('name').text
            if name not in self.CLASSES:
                continue
            label = self.cat2label[name]
            difficult = obj.find('difficult')
            difficult = 0 if difficult is None else int(difficult.text)
            bnd = obj.find('bndbox')
            box = [int(float(bnd.find(k).text)) for k in ('xmin', 'ymin', 'xmax', 'ymax')]
            small = bool(self.min_size) and (box[2] - box[0] < self.min_size or
                                             box[3] - box[1] < self.min_size)
            if difficult or small:
                boxes_ignore.append(box)
                labels_ignore.append(label)
            else:
                boxes.append(box)
                labels.append(label)

        def as_boxes(b):
            return (np.array(b, dtype=np.float32).reshape(-1, 4) - 1) if b else \
                np.zeros((0, 4), np.float32)
        return dict(bboxes=as_boxes(boxes), labels=np.array(labels, dtype=np.int64),
                    bboxes_ignore=as_boxes(boxes_ignore),
                    labels_ignore=np.array(labels_ignore, dtype=np.int64))

    def get_cat_ids(self, idx: int) -> List[int]:
        return self.get_ann_info(idx)['labels'].tolist()
