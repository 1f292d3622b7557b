"""Dataset converters on generated trees: VOC XML → COCO json gives VOCDataset's boxes through
CocoDataset; Cityscapes polygons json and instanceIds png give the same COCO json; a folder of
images → COCO json without annotations."""
import json
import os
import os.path as osp

import mmengine
import numpy as np
from PIL import Image

from mmdet_lite.datasets import CocoDataset, VOCDataset
from mmdet_lite.datasets.cityscapes import CityscapesDataset

from .tool_loader import load_tool

# (image id, [(class, xmin, ymin, xmax, ymax, difficult)])
VOC_IMAGES = [
    ('000001', [('dog', 10, 20, 60, 80, 0), ('person', 1, 1, 30, 40, 1)]),
    ('000002', [('car', 5, 6, 7, 8, 0), ('car', 15, 16, 47, 58, 0), ('cat', 3, 3, 9, 9, 0)]),
    ('000003', [('bird', 2, 2, 90, 60, 1)]),
]


def _voc_tree(root):
    voc = osp.join(root, 'VOC2007')
    for sub in ('Annotations', 'ImageSets/Main', 'JPEGImages'):
        os.makedirs(osp.join(voc, sub))
    for img_id, objects in VOC_IMAGES:
        objs = ''.join(
            f'<object><name>{n}</name><difficult>{d}</difficult><bndbox><xmin>{x1}</xmin>'
            f'<ymin>{y1}</ymin><xmax>{x2}</xmax><ymax>{y2}</ymax></bndbox></object>'
            for n, x1, y1, x2, y2, d in objects)
        with open(osp.join(voc, 'Annotations', f'{img_id}.xml'), 'w') as f:
            f.write(f'<annotation><size><width>100</width><height>90</height><depth>3</depth>'
                    f'</size>{objs}</annotation>')
    for split, ids in (('train', ['000001', '000002']), ('val', ['000003']),
                       ('trainval', [i for i, _ in VOC_IMAGES]), ('test', ['000003'])):
        with open(osp.join(voc, 'ImageSets', 'Main', f'{split}.txt'), 'w') as f:
            f.write('\n'.join(ids) + '\n')
    return voc


def test_pascal_voc_to_coco_round_trip(tmp_path):
    _voc_tree(str(tmp_path / 'VOCdevkit'))
    tool = load_tool('tools/dataset_converters/pascal_voc.py')
    written = tool.main([str(tmp_path / 'VOCdevkit'), '-o', str(tmp_path / 'out'),
                         '--out-format', 'coco'])
    assert sorted(osp.basename(p) for p in written) == [
        'voc07_test.json', 'voc07_train.json', 'voc07_trainval.json', 'voc07_val.json']
    voc = VOCDataset(ann_file=str(tmp_path / 'VOCdevkit/VOC2007/ImageSets/Main/trainval.txt'),
                     img_prefix=str(tmp_path / 'VOCdevkit/VOC2007'), pipeline=[],
                     test_mode=True)
    coco = CocoDataset(ann_file=str(tmp_path / 'out/voc07_trainval.json'), pipeline=[],
                       classes=VOCDataset.CLASSES, img_prefix=str(tmp_path / 'VOCdevkit'),
                       test_mode=True)
    assert len(coco) == len(voc) == 3
    for i in range(3):
        expected, got = voc.get_ann_info(i), coco.get_ann_info(i)
        np.testing.assert_array_equal(got['bboxes'], expected['bboxes'])
        np.testing.assert_array_equal(got['labels'], expected['labels'])
        np.testing.assert_array_equal(got['bboxes_ignore'], expected['bboxes_ignore'])
        assert coco.data_infos[i]['filename'].endswith(f'VOC2007/JPEGImages/{VOC_IMAGES[i][0]}.jpg')
    # the middle format (.pkl, 2.x's default) holds the same boxes
    tool.main([str(tmp_path / 'VOCdevkit'), '-o', str(tmp_path / 'pkl')])
    middle = mmengine.load(str(tmp_path / 'pkl/voc07_train.pkl'))
    np.testing.assert_array_equal(middle[1]['ann']['bboxes'], voc.get_ann_info(1)['bboxes'])
    np.testing.assert_array_equal(middle[0]['ann']['labels_ignore'], [14])  # person, difficult


# (label, x1, y1, x2, y2) rectangles, drawn in order (later ones on top)
CITYSCAPES_OBJECTS = [
    ('road', 0, 0, 59, 39), ('car', 5, 5, 24, 20), ('car', 15, 10, 34, 25),
    ('license plate', 20, 20, 24, 22), ('persongroup', 40, 2, 49, 11),
    ('caravan', 40, 20, 55, 30), ('rider', 50, 32, 58, 38)]
H, W = 40, 60


def _instance_ids_by_hand():
    inst, counts = np.zeros((H, W), np.int32), {}
    label_ids = {'road': 7, 'car': 26, 'person': 24, 'caravan': 29, 'rider': 25}
    for label, x1, y1, x2, y2 in CITYSCAPES_OBJECTS:
        if label == 'license plate':
            continue  # id -1: never drawn
        if label.endswith('group'):
            value = label_ids[label[:-5]]
        elif label == 'road':
            value = 7
        else:
            value = label_ids[label] * 1000 + counts.get(label, 0)
            counts[label] = counts.get(label, 0) + 1
        inst[y1:y2 + 1, x1:x2 + 1] = value
    return inst


def _cityscapes_tree(root):
    for split, city in (('train', 'aachen'), ('val', 'bonn')):
        img_dir = osp.join(root, 'leftImg8bit', split, city)
        gt_dir = osp.join(root, 'gtFine', split, city)
        os.makedirs(img_dir)
        os.makedirs(gt_dir)
        name = f'{city}_000000_000019'
        Image.new('RGB', (W, H)).save(osp.join(img_dir, f'{name}_leftImg8bit.png'))
        if split == 'train':  # polygons json only
            objects = [dict(label=label, polygon=[[x1, y1], [x2, y1], [x2, y2], [x1, y2]])
                       for label, x1, y1, x2, y2 in CITYSCAPES_OBJECTS]
            with open(osp.join(gt_dir, f'{name}_gtFine_polygons.json'), 'w') as f:
                json.dump(dict(imgHeight=H, imgWidth=W, objects=objects), f)
        else:  # instanceIds png, as cityscapesscripts writes it (16-bit)
            Image.fromarray(_instance_ids_by_hand().astype(np.uint16)).save(
                osp.join(gt_dir, f'{name}_gtFine_instanceIds.png'))


def test_cityscapes_polygons_and_instance_png(tmp_path):
    _cityscapes_tree(str(tmp_path))
    tool = load_tool('tools/dataset_converters/cityscapes.py')
    written = tool.main([str(tmp_path), '-o', str(tmp_path / 'annotations')])
    assert [osp.basename(p) for p in written] == ['instancesonly_filtered_gtFine_train.json',
                                                  'instancesonly_filtered_gtFine_val.json']
    train, val = (mmengine.load(p) for p in written)
    # the rasterised polygons equal the hand-drawn instance-id image
    assert train['annotations'] == val['annotations']
    assert train['images'][0]['file_name'] == 'aachen/aachen_000000_000019_leftImg8bit.png'
    assert train['images'][0]['segm_file'] == 'aachen/aachen_000000_000019_gtFine_labelIds.png'
    assert [c['id'] for c in train['categories']] == [24, 25, 26, 27, 28, 31, 32, 33]
    by_cat = {(a['category_id'], a['iscrowd']): a for a in train['annotations']}
    assert len(train['annotations']) == 4  # two cars, the rider, the crowd; no caravan
    car_a = [a for a in train['annotations'] if a['bbox'][0] == 5][0]
    assert car_a['bbox'] == [5, 5, 20, 16] and car_a['area'] == 20 * 16 - 10 * 11
    assert by_cat[(24, 1)]['bbox'] == [40, 2, 10, 10]
    assert by_cat[(25, 0)]['area'] == 9 * 7
    dataset = CityscapesDataset(ann_file=written[0], pipeline=[], test_mode=True)
    ann = dataset.get_ann_info(0)
    np.testing.assert_array_equal(sorted(ann['labels'].tolist()), [1, 2, 2])  # rider, 2 cars
    np.testing.assert_array_equal(ann['bboxes_ignore'], [[40, 2, 50, 12]])


def test_images2coco(tmp_path):
    img_dir = tmp_path / 'images'
    (img_dir / 'sub').mkdir(parents=True)
    Image.new('RGB', (30, 20)).save(img_dir / 'a.jpg')
    Image.new('RGB', (8, 9)).save(img_dir / 'sub' / 'b.png')
    (img_dir / 'notes.txt').write_text('not an image')
    (tmp_path / 'classes.txt').write_text('cat\ndog\n')
    tool = load_tool('tools/dataset_converters/images2coco.py')
    out = tool.main([str(img_dir), str(tmp_path / 'classes.txt'), 'test.json', '-e', 'txt'])
    coco = mmengine.load(out)
    assert osp.samefile(osp.dirname(out), tmp_path / 'annotations')
    assert [(osp.relpath(i['file_name'], img_dir), i['width'], i['height'], i['id'])
            for i in coco['images']] == [('a.jpg', 30, 20, 0), ('sub/b.png', 8, 9, 1)]
    assert coco['categories'] == [dict(supercategory='none', id=0, name='cat'),
                                  dict(supercategory='none', id=1, name='dog')]
    dataset = CocoDataset(ann_file=out, pipeline=[], classes=('cat', 'dog'), test_mode=True)
    assert len(dataset) == 2 and len(dataset.get_ann_info(1)['bboxes']) == 0
