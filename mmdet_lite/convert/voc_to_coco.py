"""Pascal VOC XML annotations → mmdetection's middle format or a COCO json (2.x
``tools/dataset_converters/pascal_voc.py``).

Per image the middle format is ``dict(filename, width, height, ann=dict(bboxes (n, 4) float32,
labels (n,) int64, bboxes_ignore (m, 4), labels_ignore (m,)))``; as in 2.x, coordinates are
made 0-based by subtracting 1 and ``difficult`` objects go to the ignore arrays. In the COCO
json a box is ``[x1, y1, x2 - x1, y2 - y1]`` (integers), category ids are the 0-based VOC class
indices, and a difficult object is ``iscrowd=1`` (which ``CocoDataset`` turns into an ignored
box again), so ``CocoDataset`` on the json gives the boxes ``VOCDataset`` gives on the XML.
"""
import os.path as osp
import xml.etree.ElementTree as ET
from typing import Dict, List, Sequence, Union

import numpy as np

from ..core.evaluation.class_names import voc_classes
from .images_to_coco import image_infos_to_coco

__all__ = ['parse_voc_xml', 'voc_split_annotations', 'middle_format_to_coco', 'voc_year_sets']


def parse_voc_xml(xml_path: str, img_path: str, label_ids: Dict[str, int]) -> dict:
    """Of one image: its XML as a middle-format dict (``img_path`` stored as ``filename``)."""
    try:
        root = ET.parse(xml_path).getroot()
    except (ET.ParseError, FileNotFoundError) as err:
        raise ValueError(f'VOC annotation {xml_path!r} cannot be read: {err}') from None
    size = root.find('size')
    if size is None:
        raise ValueError(f'VOC annotation {xml_path!r} has no <size>; the converter needs the '
                         'image width and height')
    boxes: Dict[bool, List[List[int]]] = {False: [], True: []}
    labels: Dict[bool, List[int]] = {False: [], True: []}
    for obj in root.findall('object'):
        name = obj.find('name').text
        if name not in label_ids:
            raise KeyError(f'{xml_path!r}: object class {name!r} is not a VOC class '
                           f'{sorted(label_ids)}')
        difficult_tag = obj.find('difficult')
        difficult = difficult_tag is not None and int(difficult_tag.text) == 1
        box = obj.find('bndbox')
        boxes[difficult].append([int(float(box.find(tag).text))
                                 for tag in ('xmin', 'ymin', 'xmax', 'ymax')])
        labels[difficult].append(label_ids[name])

    def as_array(items: List[List[int]]) -> np.ndarray:
        return (np.array(items, np.float32).reshape(-1, 4) - 1).astype(np.float32)

    return dict(filename=img_path, width=int(size.find('width').text),
                height=int(size.find('height').text),
                ann=dict(bboxes=as_array(boxes[False]),
                         labels=np.array(labels[False], np.int64),
                         bboxes_ignore=as_array(boxes[True]),
                         labels_ignore=np.array(labels[True], np.int64)))


def voc_split_annotations(devkit_path: str, years: Union[str, Sequence[str]],
                          split: str) -> List[dict]:
    """Middle-format annotations of ``VOC<year>/ImageSets/Main/<split>.txt`` for each year.

    Raises FileNotFoundError naming the missing image list."""
    label_ids = {name: i for i, name in enumerate(voc_classes())}
    years = [years] if isinstance(years, str) else list(years)
    annotations = []
    for year in years:
        filelist = osp.join(devkit_path, f'VOC{year}', 'ImageSets', 'Main', f'{split}.txt')
        if not osp.isfile(filelist):
            raise FileNotFoundError(f'image list {filelist!r} does not exist')
        with open(filelist) as f:
            names = [line.strip() for line in f if line.strip()]
        for name in names:
            annotations.append(parse_voc_xml(
                osp.join(devkit_path, f'VOC{year}', 'Annotations', f'{name}.xml'),
                f'VOC{year}/JPEGImages/{name}.jpg', label_ids))
    return annotations


def _box_item(ann_id: int, image_id: int, label: int, box: np.ndarray, crowd: bool) -> dict:
    x1, y1, x2, y2 = (int(v) for v in box[:4])
    return dict(segmentation=[[x1, y1, x1, y2, x2, y2, x2, y1]], area=(x2 - x1) * (y2 - y1),
                ignore=0, iscrowd=int(crowd), image_id=image_id, bbox=[x1, y1, x2 - x1, y2 - y1],
                category_id=int(label), id=ann_id)


def middle_format_to_coco(annotations: List[dict],
                          classes: Sequence[str] = tuple(voc_classes())) -> dict:
    """The COCO json dict of middle-format ``annotations`` (images numbered from 0)."""
    coco = image_infos_to_coco(annotations, classes)
    for image_id, info in enumerate(annotations):
        ann = info['ann']
        for crowd, (boxes, labels) in ((False, (ann['bboxes'], ann['labels'])),
                                       (True, (ann['bboxes_ignore'], ann['labels_ignore']))):
            for box, label in zip(boxes, labels):
                coco['annotations'].append(
                    _box_item(len(coco['annotations']), image_id, label, box, crowd))
    return coco


def voc_year_sets(devkit_path: str) -> List[Union[str, List[str]]]:
    """The years under ``devkit_path`` (2007, 2012) and, with both, the pair ['2007', '2012']."""
    years: List[Union[str, List[str]]] = [y for y in ('2007', '2012')
                                          if osp.isdir(osp.join(devkit_path, f'VOC{y}'))]
    if not years:
        raise FileNotFoundError(f'The devkit path {devkit_path} contains neither "VOC2007" nor '
                                '"VOC2012" subfolder')
    if len(years) == 2:
        years.append(['2007', '2012'])
    return years
