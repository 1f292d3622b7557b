"""Runs docs/tutorials/finetune.md: its config with ``load_from`` a stand-in for the COCO
checkpoint (the 80-class Mask R-CNN of configs/mask_rcnn_r50_fpn_1x.py, shrunk), its train and
test commands (shrunk, one epoch), and checks the page's table: exactly the per-class layers are
re-initialised, everything else is loaded, and the warning users see names them."""
import logging
import os
import os.path as osp
import re

import pytest
import torch

from mmdet_lite.apis import load_config
from mmdet_lite.core.evaluation.class_names import coco_classes
from mmdet_lite.engine import build_runner
from mmdet_lite.engine.checkpoint_validation import state_dict_mismatch
from mmdet_lite.models.builder import build_detector
from tests.test_docs.markdown_blocks import (REPO, code_blocks, run_shell_block,
                                             write_file_blocks)
from tests.test_docs.tutorial_data import SIZE, SMALL, SMALL_MASK, make_my_coco

TUTORIAL = osp.join(REPO, 'docs', 'tutorials', 'finetune.md')
CONFIG = 'configs/my_finetune/mask_rcnn_r50_fpn_1x_finetune_my_coco.py'
SHRINK = SMALL + SMALL_MASK + [f'data.{split}.pipeline.{index}.img_scale={SIZE}' for split, index
                               in (('train', 2), ('val', 1), ('test', 1))]


def _options(strings):
    """``['a.b=1', ...]`` as the dict ``--cfg-options`` makes."""
    from mmengine.config import DictAction
    options = {}
    for item in strings:
        key, value = item.split('=', 1)
        options[key] = DictAction._parse_iterable(value)
    return options


@pytest.fixture
def tutorial_project(tmp_path, monkeypatch):
    os.makedirs(tmp_path / 'configs')
    os.symlink(osp.join(REPO, 'configs', '_base_'), tmp_path / 'configs' / '_base_')
    os.symlink(osp.join(REPO, 'configs', 'mask_rcnn_r50_fpn_1x.py'),
               tmp_path / 'configs' / 'mask_rcnn_r50_fpn_1x.py')
    make_my_coco(str(tmp_path / 'data' / 'my_coco'))
    monkeypatch.chdir(tmp_path)
    write_file_blocks(tmp_path, code_blocks(TUTORIAL))
    # the "model-zoo checkpoint": the COCO config's model (80 classes), shrunk like the run
    zoo_cfg = load_config('configs/mask_rcnn_r50_fpn_1x.py', _options(SHRINK))
    torch.manual_seed(0)
    zoo_model = build_detector(zoo_cfg.model)
    zoo_model.init_weights()
    load_from = load_config(CONFIG).load_from
    os.makedirs(osp.dirname(load_from), exist_ok=True)
    torch.save({'state_dict': zoo_model.state_dict(),
                'meta': {'CLASSES': tuple(coco_classes())}}, load_from)
    return tmp_path


def _table_keys():
    """The re-initialised tensors the page's table lists."""
    with open(TUTORIAL) as f:
        text = f.read()
    keys = []
    for stem in re.findall(r'^\| `(roi_head\.[\w.]+)\.weight` / `\.bias` \|', text, flags=re.M):
        keys += [f'{stem}.weight', f'{stem}.bias']
    return keys


def test_mismatched_head_is_reinitialised_and_the_rest_loaded(tutorial_project, one_thread):
    cfg = load_config(CONFIG, _options(SHRINK))
    runner = build_runner(cfg)
    model = runner.model
    model.init_weights()
    fresh = {k: v.clone() for k, v in model.state_dict().items()}
    messages = []
    handler = logging.Handler()
    handler.emit = lambda record: messages.append(record.getMessage())
    runner.logger.addHandler(handler)
    try:
        runner.load_checkpoint(cfg.load_from)
    finally:
        runner.logger.removeHandler(handler)
    zoo = torch.load(cfg.load_from, weights_only=True)['state_dict']
    reinitialised = [k for k, v in model.state_dict().items() if v.shape != zoo[k].shape]
    assert reinitialised == _table_keys() and len(reinitialised) == 6
    for key, value in model.state_dict().items():
        if key in reinitialised:
            assert torch.equal(value, fresh[key]), f'{key} should keep its initialisation'
        else:
            assert torch.equal(value, zoo[key]), f'{key} should be loaded from the checkpoint'
    warning = next(m for m in messages if m.startswith(f'load_from={cfg.load_from!r}'))
    total = len(model.state_dict())
    assert f'{total - 6} of the model\'s {total} tensors loaded' in warning
    assert "('roi_head.bbox_head.fc_cls.weight', (81, 32), (5, 32))" in warning


def test_page_shows_the_full_size_message(tutorial_project):
    """The warning quoted on the page is the one of the full-size models (meta device: names
    and shapes only)."""
    with torch.device('meta'):
        zoo = build_detector(load_config('configs/mask_rcnn_r50_fpn_1x.py').model).state_dict()
        own = build_detector(load_config(CONFIG).model).state_dict()
    mismatch = state_dict_mismatch(own, zoo)
    with open(TUTORIAL) as f:
        page = f.read()
    assert (f"{mismatch.loaded(own)} of the model's {len(own)} tensors loaded; the rest keep "
            f'their initialisation (as mmdetection 2.x): {mismatch.describe()}') in page


def test_tutorial_commands_finetune_and_test(tutorial_project, one_thread):
    blocks = code_blocks(TUTORIAL)
    results = [result for lang, body in blocks if lang == 'shell'
               for result in run_shell_block(body, lambda argv: SHRINK)]
    assert [argv[1] for argv, _ in results] == ['tools/train.py', 'tools/test.py']
    metrics = results[1][1]
    assert 0.0 <= metrics['bbox_mAP'] <= 1.0 and 0.0 <= metrics['segm_mAP'] <= 1.0
    work_dir = tutorial_project / 'work_dirs' / 'mask_rcnn_r50_fpn_1x_finetune_my_coco'
    logs = [osp.join(root, name) for root, _, names in os.walk(work_dir) for name in names
            if name.endswith('.log')]
    assert logs
    with open(logs[0]) as f:
        assert 'the rest keep their initialisation' in f.read()
