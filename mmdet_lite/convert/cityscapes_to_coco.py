"""Cityscapes ``gtFine`` instances → COCO json (2.x ``tools/dataset_converters/cityscapes.py``).

Input per image ``leftImg8bit/<split>/<city>/<name>_leftImg8bit.png`` and, under
``gtFine/<split>/<city>/``, either ``<name>_gtFine_instanceIds.png`` (what 2.x reads; made by
cityscapesscripts' ``createTrainIdInstanceImgs``) or, when that file is absent,
``<name>_gtFine_polygons.json``, which is rasterised here the way cityscapesscripts'
``json2instanceImg`` does: objects drawn in file order (later ones occlude earlier ones) with
PIL's polygon fill + outline, an instance of a class with instances gets
``class_id * 1000 + k``, a ``...group`` object (crowd) and a stuff class get the class id.

From the instance-id image, as 2.x: ids >= 24 are objects; ``id // 1000`` (or the id itself
below 1000, a crowd region) is the class; only the 8 evaluated instance classes are kept
(caravan and trailer have instances but are not evaluated); the mask is RLE-encoded with
pycocotools, whose ``area`` and ``toBbox`` give ``area`` and ``bbox``. Category ids are
Cityscapes label ids (24 person ... 33 bicycle).
"""
import glob
import json
import os.path as osp
from typing import Dict, List, NamedTuple, Optional, Tuple

import mmcv
import numpy as np
import pycocotools.mask as mask_utils
from PIL import Image, ImageDraw

__all__ = ['CITYSCAPES_LABEL_IDS', 'INSTANCE_CATEGORIES', 'collect_files',
           'polygons_to_instance_ids', 'image_annotations', 'to_coco_json']


class _Category(NamedTuple):
    id: int
    name: str


# Cityscapes label ids by name (cityscapesscripts.helpers.labels); 'license plate' is -1
# (never drawn).
CITYSCAPES_LABEL_IDS: Dict[str, int] = {
    'unlabeled': 0, 'ego vehicle': 1, 'rectification border': 2, 'out of roi': 3, 'static': 4,
    'dynamic': 5, 'ground': 6, 'road': 7, 'sidewalk': 8, 'parking': 9, 'rail track': 10,
    'building': 11, 'wall': 12, 'fence': 13, 'guard rail': 14, 'bridge': 15, 'tunnel': 16,
    'pole': 17, 'polegroup': 18, 'traffic light': 19, 'traffic sign': 20, 'vegetation': 21,
    'terrain': 22, 'sky': 23, 'person': 24, 'rider': 25, 'car': 26, 'truck': 27, 'bus': 28,
    'caravan': 29, 'trailer': 30, 'train': 31, 'motorcycle': 32, 'bicycle': 33,
    'license plate': -1}
_HAS_INSTANCES = {'person', 'rider', 'car', 'truck', 'bus', 'caravan', 'trailer', 'train',
                  'motorcycle', 'bicycle'}
# hasInstances and not ignoreInEval: the categories of the json (2.x's order).
INSTANCE_CATEGORIES: Tuple[_Category, ...] = tuple(
    _Category(CITYSCAPES_LABEL_IDS[n], n) for n in
    ('person', 'rider', 'car', 'truck', 'bus', 'train', 'motorcycle', 'bicycle'))
_EVALUATED = {c.id for c in INSTANCE_CATEGORIES}

IMG_SUFFIX = 'leftImg8bit.png'


def collect_files(img_dir: str, gt_dir: str) -> List[Tuple[str, str, str]]:
    """``(image, instance source, labelIds png)`` per image of ``img_dir/<city>/*.png``; the
    instance source is the instanceIds png when it exists, else the polygons json."""
    files = []
    for img_file in sorted(glob.glob(osp.join(img_dir, '*', '*.png'))):
        if not img_file.endswith(IMG_SUFFIX):
            raise ValueError(f'{img_file!r} is not a Cityscapes image (*_{IMG_SUFFIX})')
        stem = osp.join(gt_dir, osp.relpath(img_file, img_dir)[:-len(IMG_SUFFIX)])
        inst_file = stem + 'gtFine_instanceIds.png'
        if not osp.isfile(inst_file):
            inst_file = stem + 'gtFine_polygons.json'
            if not osp.isfile(inst_file):
                raise FileNotFoundError(f'{img_file!r} has neither {stem}gtFine_instanceIds.png '
                                        'nor gtFine_polygons.json')
        files.append((img_file, inst_file, stem + 'gtFine_labelIds.png'))
    if not files:
        raise FileNotFoundError(f'No images found in {img_dir}')
    return files


def polygons_to_instance_ids(polygons_json: str) -> np.ndarray:
    """The instance-id image (H, W) int32 of a ``gtFine_polygons.json``."""
    with open(polygons_json) as f:
        annotation = json.load(f)
    img = Image.new('I', (annotation['imgWidth'], annotation['imgHeight']),
                    CITYSCAPES_LABEL_IDS['unlabeled'])
    drawer = ImageDraw.Draw(img)
    counts: Dict[str, int] = {}
    for obj in annotation['objects']:
        if obj.get('deleted'):
            continue
        label, is_group = obj['label'], False
        if label not in CITYSCAPES_LABEL_IDS and label.endswith('group'):
            label, is_group = label[:-len('group')], True
        if label not in CITYSCAPES_LABEL_IDS:
            raise KeyError(f'{polygons_json!r}: unknown Cityscapes label {obj["label"]!r}')
        value = CITYSCAPES_LABEL_IDS[label]
        if label in _HAS_INSTANCES and not is_group:
            value = value * 1000 + counts.get(label, 0)
            counts[label] = counts.get(label, 0) + 1
        if value < 0:
            continue
        polygon = [tuple(point) for point in obj['polygon']]
        drawer.polygon(polygon, fill=value, outline=value)
    return np.asarray(img, dtype=np.int32)


def image_annotations(img_file: str, inst_file: str, segm_file: str) -> dict:
    """Of one image: ``dict(file_name, height, width, anno_info, segm_file)`` (2.x's keys)."""
    if inst_file.endswith('.json'):
        inst_img = polygons_to_instance_ids(inst_file)
    else:
        inst_img = mmcv.imread(inst_file, 'unchanged')
        if inst_img is None:
            raise ValueError(f'cannot read instance image {inst_file!r}')
    anno_info = []
    for inst_id in np.unique(inst_img[inst_img >= 24]):
        label_id = int(inst_id // 1000 if inst_id >= 1000 else inst_id)
        if label_id not in _EVALUATED:
            continue
        mask = np.asarray(inst_img == inst_id, dtype=np.uint8, order='F')
        rle = mask_utils.encode(mask[:, :, None])[0]
        bbox = mask_utils.toBbox(rle)
        rle['counts'] = rle['counts'].decode()
        anno_info.append(dict(iscrowd=int(inst_id < 1000), category_id=label_id,
                              bbox=bbox.tolist(), area=int(mask_utils.area(rle)),
                              segmentation=rle))
    city = osp.basename(osp.dirname(img_file))
    return dict(file_name=osp.join(city, osp.basename(img_file)), height=int(inst_img.shape[0]),
                width=int(inst_img.shape[1]), anno_info=anno_info,
                segm_file=osp.join(city, osp.basename(segm_file)))


def to_coco_json(image_infos: List[dict], out_file: Optional[str] = None) -> dict:
    """The COCO dict of ``image_annotations`` results (ids from 0), written to ``out_file``
    when given. As 2.x, a json without any annotation has no ``annotations`` key."""
    out: dict = dict(images=[], categories=[], annotations=[])
    for img_id, info in enumerate(image_infos):
        info = dict(info, id=img_id)
        for anno in info.pop('anno_info'):
            out['annotations'].append(dict(anno, image_id=img_id, id=len(out['annotations'])))
        out['images'].append(info)
    out['categories'] = [dict(id=c.id, name=c.name) for c in INSTANCE_CATEGORIES]
    if not out['annotations']:
        out.pop('annotations')
    if out_file is not None:
        with open(out_file, 'w') as f:
            json.dump(out, f)
    return out
