"""Runs docs/tutorials/custom_dataset.md on generated data: the COCO and the VOC layouts it
describes are written (8 train / 4 val shapes images of 64 px, four classes), its ``# file:``
configs are written, its Python check runs, and each ``shell`` command goes through the tool's
``main(argv)`` with ``--cfg-options`` appended only to shrink the run (ResNet-18 at 1/8 width,
64 px images, one epoch)."""
import json
import os
import os.path as osp
import xml.etree.ElementTree as ET

import mmcv
import pytest

from mmdet_lite.datasets.shapes import generate_shapes
from tests.test_docs.markdown_blocks import (code_blocks, run_shell_block, write_file_blocks,
                                             REPO)

TUTORIAL = osp.join(REPO, 'docs', 'tutorials', 'custom_dataset.md')
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
SIZE = '(64,64)'


def _shrink(argv):
    """The options that shrink the run of the tutorial config ``argv[2]``."""
    config = argv[2]
    if 'my_voc' in config:
        images = [f'data.train.dataset.pipeline.2.img_scale={SIZE}', 'data.train.times=1']
    else:
        images = [f'data.train.pipeline.2.img_scale={SIZE}'] + SMALL_MASK
    images += [f'data.{split}.pipeline.1.img_scale={SIZE}' for split in ('val', 'test')]
    return SMALL + images


def _write_voc(coco_root, voc_root):
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


@pytest.fixture
def tutorial_project(tmp_path, monkeypatch):
    os.makedirs(tmp_path / 'configs')
    os.symlink(osp.join(REPO, 'configs', '_base_'), tmp_path / 'configs' / '_base_')
    coco_root = tmp_path / 'data' / 'my_coco'
    generate_shapes(str(coco_root), num_train=8, num_val=4, img_size=64, seed=0)
    for split in ('train', 'val'):  # file names relative to the split's folder, as in the page
        path = coco_root / 'annotations' / f'instances_{split}.json'
        coco = json.loads(path.read_text())
        for image in coco['images']:
            image['file_name'] = osp.basename(image['file_name'])
        path.write_text(json.dumps(coco))
    _write_voc(str(coco_root), str(tmp_path / 'data' / 'my_voc'))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_tutorial_examples_are_what_the_datasets_read():
    blocks = code_blocks(TUTORIAL)
    example = json.loads(next(body for lang, body in blocks if lang == 'json'))
    assert set(example) == {'images', 'annotations', 'categories'}
    assert [c['name'] for c in example['categories']] == [
        'circle', 'triangle', 'square', 'star']
    xml = ET.fromstring(next(body for lang, body in blocks if lang == 'xml'))
    assert xml.find('object/bndbox/xmin').text == '101'


def test_tutorial_commands_train_and_test(tutorial_project, one_thread):
    blocks = code_blocks(TUTORIAL)
    files = write_file_blocks(tutorial_project, blocks)
    assert files == ['configs/my_coco/mask_rcnn_r50_fpn_1x_my_coco.py',
                     'configs/my_voc/faster_rcnn_r50_fpn_1x_my_voc.py']
    checks = [body for lang, body in blocks if lang == 'python' and
              not body.startswith('# file: ')]
    assert len(checks) == 1
    exec(compile(checks[0], TUTORIAL, 'exec'), {'__name__': 'tutorial'})

    results = [result for lang, body in blocks if lang == 'shell'
               for result in run_shell_block(body, _shrink)]
    assert [argv[1] for argv, _ in results] == ['tools/train.py', 'tools/test.py'] * 2
    coco_metrics, voc_metrics = results[1][1], results[3][1]
    assert 0.0 <= coco_metrics['bbox_mAP'] <= 1.0 and 0.0 <= coco_metrics['segm_mAP'] <= 1.0
    assert 0.0 <= voc_metrics['mAP'] <= 1.0
    for name in ('mask_rcnn_r50_fpn_1x_my_coco', 'faster_rcnn_r50_fpn_1x_my_voc'):
        work_dir = tutorial_project / 'work_dirs' / name
        assert (work_dir / 'epoch_1.pth').is_file()
