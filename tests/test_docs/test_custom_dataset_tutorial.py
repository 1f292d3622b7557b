"""Runs docs/tutorials/custom_dataset.md on generated data: the COCO and the VOC layouts it
describes are written (4 train / 2 val shapes images of 64 px, four classes), its ``# file:``
configs are written, its Python check runs, and each ``shell`` command goes through the tool's
``main(argv)`` with ``--cfg-options`` appended only to shrink the run (ResNet-18 at 1/8 width,
64 px images, one epoch)."""
import json
import os
import os.path as osp
import xml.etree.ElementTree as ET

import pytest

from tests.test_docs.markdown_blocks import REPO, code_blocks, run_shell_block, write_file_blocks
from tests.test_docs.tutorial_data import SIZE, SMALL, SMALL_MASK, make_my_coco, write_voc

TUTORIAL = osp.join(REPO, 'docs', 'tutorials', 'custom_dataset.md')


def _shrink(argv):
    """The options that shrink the run of the tutorial config ``argv[2]``."""
    config = argv[2]
    if 'my_voc' in config:
        images = [f'data.train.dataset.pipeline.2.img_scale={SIZE}', 'data.train.times=1']
    else:
        images = [f'data.train.pipeline.2.img_scale={SIZE}'] + SMALL_MASK
    images += [f'data.{split}.pipeline.1.img_scale={SIZE}' for split in ('val', 'test')]
    return SMALL + images


@pytest.fixture
def tutorial_project(tmp_path, monkeypatch):
    os.makedirs(tmp_path / 'configs')
    os.symlink(osp.join(REPO, 'configs', '_base_'), tmp_path / 'configs' / '_base_')
    make_my_coco(str(tmp_path / 'data' / 'my_coco'))
    write_voc(str(tmp_path / 'data' / 'my_coco'), str(tmp_path / 'data' / 'my_voc'))
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
