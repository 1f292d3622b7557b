"""Runs docs/tutorials/new_head.md: its files, its Python check and its train/test commands
(an anchor-based and an anchor-free head); the anchor-free one also overfits two images.

``# file: PATH`` blocks are written under a scratch project folder (with ``configs/_base_`` and
``configs/shapes`` linked from the repository), other ``python`` blocks are executed there, and
each ``shell`` command is run through the tool's ``main(argv)`` in-process, with
``--cfg-options`` appended only to shrink the run (8 generated images, one epoch).
"""
import importlib.util
import os
import os.path as osp
import re
import shlex
import sys

import pytest

REPO = osp.abspath(osp.join(osp.dirname(__file__), '..', '..', '..'))
TUTORIAL = osp.join(REPO, 'docs', 'tutorials', 'new_head.md')
TINY = ['runner.max_epochs=1', 'data.samples_per_gpu=2', 'data.workers_per_gpu=0',
        'lr_config.warmup_iters=2', 'log_config.interval=1'] + [
            f'data.{split}.{key}={value}' for split in ('train', 'val', 'test')
            for key, value in (('num_train', 8), ('num_val', 4), ('img_size', 96))]


def _blocks():
    with open(TUTORIAL) as f:
        text = f.read()
    return re.findall(r'```(\w+)\n(.*?)```', text, flags=re.S)


def _tool(name):
    spec = importlib.util.spec_from_file_location(f'tutorial_tool_{name}',
                                                  osp.join(REPO, 'tools', f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _commands(shell_block):
    joined = shell_block.replace('\\\n', ' ')
    return [shlex.split(line) for line in joined.splitlines() if line.strip()]


def test_tutorial_blocks_are_well_formed():
    blocks = _blocks()
    files = [b for lang, b in blocks if lang == 'python' and b.startswith('# file: ')]
    assert {b.splitlines()[0][len('# file: '):] for b in files} == {
        'my_heads/__init__.py', 'my_heads/light_retina_head.py',
        'configs/light_retina_r18_fpn_shapes.py', 'my_heads/light_fcos_head.py',
        'configs/light_fcos_r18_fpn_shapes.py'}
    commands = [c for lang, b in blocks if lang == 'shell' for c in _commands(b)]
    assert [c[:2] for c in commands] == [['python', 'tools/train.py'],
                                         ['python', 'tools/test.py']] * 2


@pytest.fixture
def tutorial_project(tmp_path, monkeypatch):
    os.makedirs(tmp_path / 'configs')
    for name in ('_base_', 'shapes'):
        os.symlink(osp.join(REPO, 'configs', name), tmp_path / 'configs' / name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    from mmdet_lite.registry import MODELS
    MODELS._module_dict.pop('LightRetinaHead', None)
    MODELS._module_dict.pop('LightFCOSHead', None)
    for name in [m for m in sys.modules if m == 'my_heads' or m.startswith('my_heads.')]:
        del sys.modules[name]


def _write_files(project, blocks):
    for lang, body in blocks:
        if lang == 'python' and body.startswith('# file: '):
            path = project / body.splitlines()[0][len('# file: '):]
            os.makedirs(path.parent, exist_ok=True)
            path.write_text(body)


def test_tutorial_head_builds_trains_and_tests(tutorial_project, one_thread):
    blocks = _blocks()
    _write_files(tutorial_project, blocks)
    for lang, body in blocks:
        if lang == 'python' and not body.startswith('# file: '):
            exec(compile(body, TUTORIAL, 'exec'), {'__name__': 'tutorial'})

    from mmdet_lite.models.dense_heads import AnchorHead
    from my_heads.light_retina_head import LightRetinaHead
    assert issubclass(LightRetinaHead, AnchorHead)
    # Only the extension points are overridden; training and testing are AnchorHead's.
    overridden = {k for k, v in vars(LightRetinaHead).items() if callable(v) and k != '__init__'}
    assert overridden == {'_init_layers', 'init_weights', 'forward_single'}
    from mmdet_lite.models.dense_heads import AnchorFreeHead
    from my_heads.light_fcos_head import LightFCOSHead
    assert issubclass(LightFCOSHead, AnchorFreeHead)
    assert {k for k, v in vars(LightFCOSHead).items() if callable(v)} == {
        '_init_layers', 'forward_single'}

    metrics = {}
    for lang, body in blocks:
        if lang != 'shell':
            continue
        for argv in _commands(body):
            assert argv[0] == 'python'
            tool = _tool(osp.splitext(osp.basename(argv[1]))[0])
            args = argv[2:] + ['--cfg-options'] + TINY
            if argv[1] == 'tools/train.py':
                args += ['--seed', '0']
            result = tool.main(args)
            if argv[1] == 'tools/test.py':
                metrics[argv[2]] = result
    for name in ('light_retina_r18_fpn_shapes', 'light_fcos_r18_fpn_shapes'):
        work_dir = tutorial_project / 'work_dirs' / name
        assert (work_dir / 'epoch_1.pth').is_file() and (work_dir / 'latest.pth').exists()
        result = metrics[f'configs/{name}.py']
        assert result is not None and 'bbox_mAP' in result
        assert 0.0 <= result['bbox_mAP'] <= 1.0


def test_tutorial_anchor_free_head_overfits_two_images(tutorial_project, one_thread):
    """The tutorial's LightFCOSHead, nothing but its two methods over AnchorFreeHead's
    defaults, learns the two synthetic images of the one-stage learning tests."""
    _write_files(tutorial_project, _blocks())
    import my_heads.light_fcos_head  # noqa: F401 (registers LightFCOSHead)

    from ..test_detectors.one_stage_learning import (assert_finds_every_object, overfit,
                                                     tiny_detector)
    model = tiny_detector('FCOS', dict(type='LightFCOSHead', strides=[8, 16, 32, 64, 128]))
    history, results = overfit(model, 100, lr=2e-3)
    assert sum(history[-5:]) / 5 <= 0.5 * history[0], (history[0], history[-5:])
    assert_finds_every_object(results, min_score=0.3)
