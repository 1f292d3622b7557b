"""The data the tutorials describe, generated: the shapes images (four classes) in the COCO
layout of docs/tutorials/custom_dataset.md and in its VOC layout."""
import json
import os
import os.path as osp
import xml.etree.ElementTree as ET

import mmcv

from mmdet_lite.datasets.shapes import generate_shapes

# --cfg-options that shrink an R-50 FPN Faster/Mask R-CNN run of a tutorial to seconds
SMALL = (['runner.max_epochs=1', 'data.samples_per_gpu=2', 'data.workers_per_gpu=0',
          'log_config.interval=1', 'model.backbone.depth=18', 'model.backbone.base_channels=8',
          'model.backbone.init_cfg=None', 'model.neck.in_channels=[8,16,32,64]',
          'model.neck.out_channels=16', 'model.rpn_head.in_channels=16',
          'model.rpn_head.feat_channels=16', 'model.roi_head.bbox_roi_extractor.out_channels=16',
          'model.roi_head.bbox_head.in_channels=16',
          'model.roi_head.bbox_head.fc_out_channels=32'])
SMALL_MASK = ['model.roi_head.mask_roi_extractor.out_channels=16',
              'model.roi_head.mask_head.in_channels=16',
              'model.roi_head.mask_head.conv_out_channels=16',
              'model.roi_head.mask_head.num_convs=1', 'lr_config.warmup_iters=2']
SIZE = '(64,64)'  # img_scale of the pipelines


def make_my_coco(coco_root: str, num_train: int = 4, num_val: int = 2, img_size: int = 64) -> None:
    """``coco_root/{train,val}/*.png`` and ``annotations/instances_{train,val}.json`` with file
    names relative to the split's folder, as the tutorial lays them out."""
    generate_shapes(coco_root, num_train=num_train, num_val=num_val, img_size=img_size, seed=0)
    for split in ('train', 'val'):
        path = osp.join(coco_root, 'annotations', f'instances_{split}.json')
        with open(path) as f:
            coco = json.load(f)
        for image in coco['images']:
            image['file_name'] = osp.basename(image['file_name'])
        with open(path, 'w') as f:
            json.dump(coco, f)


def write_voc(coco_root: str, voc_root: str) -> None:
    """The COCO-format shapes data as the VOC layout of the tutorial (jpg images, xml with
    1-based corners, trainval.txt / test.txt)."""
    base = osp.join(voc_root, 'VOC2007')
    for sub in ('Annotations', 'JPEGImages', osp.join('ImageSets', 'Main')):
        os.makedirs(osp.join(base, sub), exist_ok=True)
    for split, list_name in (('train', 'trainval'), ('val', 'test')):
        with open(osp.join(coco_root, 'annotations', f'instances_{split}.json')) as f:
            coco = json.load(f)
        names = {c['id']: c['name'] for c in coco['categories']}
        ids = []
        for image in coco['images']:
            img_id = f'{split}_{osp.splitext(osp.basename(image["file_name"]))[0]}'
            ids.append(img_id)
            img = mmcv.imread(osp.join(coco_root, split, osp.basename(image['file_name'])))
            mmcv.imwrite(img, osp.join(base, 'JPEGImages', f'{img_id}.jpg'))
            root = ET.Element('annotation')
            ET.SubElement(root, 'filename').text = f'{img_id}.jpg'
            size = ET.SubElement(root, 'size')
            for key, value in (('width', image['width']), ('height', image['height']),
                               ('depth', 3)):
                ET.SubElement(size, key).text = str(value)
            for ann in coco['annotations']:
                if ann['image_id'] != image['id']:
                    continue
                obj = ET.SubElement(root, 'object')
                ET.SubElement(obj, 'name').text = names[ann['category_id']]
                ET.SubElement(obj, 'difficult').text = '0'
                x, y, w, h = ann['bbox']
                box = ET.SubElement(obj, 'bndbox')
                for key, value in (('xmin', x + 1), ('ymin', y + 1), ('xmax', x + w),
                                   ('ymax', y + h)):
                    ET.SubElement(box, key).text = str(int(round(value)))
            ET.ElementTree(root).write(osp.join(base, 'Annotations', f'{img_id}.xml'))
        with open(osp.join(base, 'ImageSets', 'Main', f'{list_name}.txt'), 'w') as f:
            f.write('\n'.join(ids) + '\n')
