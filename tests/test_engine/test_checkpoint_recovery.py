"""Damaged checkpoints are named and skipped, failed saves lose nothing, foreign checkpoints are
refused (issue 16, item 1). The toy detector of ``toy.py`` trains in well under a second."""
import glob
import os
import os.path as osp
import shutil
import struct
import zipfile

import pytest
import torch
from mmengine.config import Config

import mmdet_lite.checkpoint as checkpoint_module
from mmdet_lite.engine import (CheckpointMismatchError, DamagedCheckpointError, build_runner,
                               load_checkpoint_safely, save_checkpoint_atomic)
from mmdet_lite.engine.checkpoint_validation import (checkpoint_damage, read_checkpoint,
                                                     resume_candidates)
from tests.test_engine.toy import toy_cfg


def _truncate_to_half(path: str) -> None:
    with open(path, 'rb') as f:
        data = f.read()
    with open(path, 'wb') as f:
        f.write(data[:len(data) // 2])


def _log_text(work_dir: str) -> str:
    logs = sorted(glob.glob(osp.join(work_dir, '*', '*.log')), key=osp.getmtime)
    with open(logs[-1]) as f:
        return f.read()


def _three_epochs(work_dir: str, **overrides) -> dict:
    return toy_cfg(work_dir, runner=dict(type='EpochBasedRunner', max_epochs=3),
                   checkpoint_config=dict(interval=1, max_keep_ckpts=3), **overrides)


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """A work dir with epoch_1..3.pth of a 3-epoch toy run (15 iterations)."""
    work_dir = str(tmp_path_factory.mktemp('trained'))
    build_runner(Config(_three_epochs(work_dir))).train()
    return work_dir


@pytest.fixture
def work_dir(trained, tmp_path):
    """A private copy of ``trained`` (last_checkpoint re-pointed into the copy)."""
    copy = str(tmp_path / 'run')
    shutil.copytree(trained, copy, symlinks=True)
    with open(osp.join(copy, 'last_checkpoint'), 'w') as f:
        f.write(osp.join(copy, 'epoch_3.pth'))
    return copy


def test_damage_is_named_with_the_reason(work_dir):
    path = osp.join(work_dir, 'epoch_3.pth')
    assert checkpoint_damage(path) is None
    _truncate_to_half(path)
    assert 'truncated or damaged zip archive' in checkpoint_damage(path)
    with pytest.raises(DamagedCheckpointError, match='truncated') as err:
        read_checkpoint(path)
    assert path in str(err.value)

    empty = osp.join(work_dir, 'empty.pth')
    open(empty, 'wb').close()
    assert checkpoint_damage(empty).startswith('is empty')

    # one flipped byte inside a tensor's data: the archive is whole, its CRC is not
    altered = osp.join(work_dir, 'epoch_2.pth')
    with zipfile.ZipFile(altered) as archive:
        info = next(i for i in archive.infolist() if '/data/' in i.filename)
    with open(altered, 'r+b') as f:
        f.seek(info.header_offset + 26)  # the local header's name and extra-field lengths
        name_len, extra_len = struct.unpack('<HH', f.read(4))
        f.seek(name_len + extra_len, os.SEEK_CUR)
        byte = f.read(1)
        f.seek(-1, os.SEEK_CUR)
        f.write(bytes([byte[0] ^ 0xFF]))
    assert 'CRC mismatch' in checkpoint_damage(altered)
    with pytest.raises(DamagedCheckpointError, match='CRC'):
        read_checkpoint(altered)


def test_auto_resume_falls_back_to_the_newest_readable(work_dir):
    _truncate_to_half(osp.join(work_dir, 'epoch_3.pth'))
    assert resume_candidates(work_dir)[:3] == [
        osp.join(work_dir, f'epoch_{i}.pth') for i in (3, 2, 1)]
    runner = build_runner(Config(toy_cfg(
        work_dir, runner=dict(type='EpochBasedRunner', max_epochs=4), auto_resume=True,
        checkpoint_config=dict(interval=1, max_keep_ckpts=3))))
    runner.train()
    assert runner.iter == 20  # resumed after epoch 2 (10 iterations), trained epochs 3 and 4
    log = _log_text(work_dir)
    assert f"auto-resume: skipping checkpoint '{osp.join(work_dir, 'epoch_3.pth')}' is a " \
        'truncated or damaged zip archive' in log
    assert f"resuming from '{osp.join(work_dir, 'epoch_2.pth')}', the newest readable" in log
    # epoch 3 was trained again and its checkpoint written whole over the damaged one
    assert checkpoint_damage(osp.join(work_dir, 'epoch_3.pth')) is None
    assert load_checkpoint_safely(osp.join(work_dir, 'epoch_4.pth'))['meta']['iter'] == 20


def test_auto_resume_without_any_readable_checkpoint_starts_over(work_dir):
    for path in glob.glob(osp.join(work_dir, 'epoch_*.pth')):
        _truncate_to_half(path)
    runner = build_runner(Config(toy_cfg(work_dir, auto_resume=True,
                                         runner=dict(type='EpochBasedRunner', max_epochs=1))))
    runner.train()
    assert runner.iter == 5
    assert 'no usable checkpoint' in _log_text(work_dir)


def test_resume_from_a_damaged_file_names_it_and_the_fix(work_dir):
    damaged = osp.join(work_dir, 'epoch_3.pth')
    _truncate_to_half(damaged)
    runner = build_runner(Config(_three_epochs(work_dir, resume_from=damaged)))
    with pytest.raises(DamagedCheckpointError) as err:
        runner.train()
    message = str(err.value)
    assert damaged in message and 'truncated' in message
    assert osp.join(work_dir, 'epoch_2.pth') in message and '--auto-resume' in message


def test_resume_from_a_weights_only_file_says_load_from(work_dir, tmp_path):
    weights = str(tmp_path / 'weights.pth')
    save_checkpoint_atomic(dict(state_dict=load_checkpoint_safely(
        osp.join(work_dir, 'epoch_1.pth'))['state_dict']), weights)
    runner = build_runner(Config(_three_epochs(str(tmp_path / 'w'), resume_from=weights)))
    with pytest.raises(DamagedCheckpointError, match="has no 'meta'.*load_from"):
        runner.train()


def _foreign(work_dir: str, tmp_path, state_dict: dict) -> str:
    ckpt = load_checkpoint_safely(osp.join(work_dir, 'epoch_1.pth'))
    ckpt['state_dict'] = state_dict
    path = str(tmp_path / 'foreign.pth')
    save_checkpoint_atomic(ckpt, path)
    return path


def test_checkpoint_of_another_model(work_dir, tmp_path):
    own = load_checkpoint_safely(osp.join(work_dir, 'epoch_1.pth'))['state_dict']
    # another head size and an extra layer: resume refuses it, naming the keys
    other = dict(own, **{'fc.weight': torch.zeros(2, 3), 'neck.conv.weight': torch.zeros(1)})
    path = _foreign(work_dir, tmp_path, other)
    runner = build_runner(Config(_three_epochs(str(tmp_path / 'r'), resume_from=path)))
    with pytest.raises(CheckpointMismatchError) as err:
        runner.train()
    message = str(err.value)
    assert path in message and "'neck.conv.weight'" in message
    assert "('fc.weight', (2, 3), (1, 3))" in message and 'load_from' in message

    # load_from keeps 2.x's semantics: what fits is loaded, the rest is warned about
    work = str(tmp_path / 'l')
    runner = build_runner(Config(toy_cfg(work, load_from=path, optimizer=dict(type='SGD', lr=0.),
                                         runner=dict(type='EpochBasedRunner', max_epochs=1))))
    runner.train()
    assert torch.equal(runner.model.fc.bias.detach(), own['fc.bias'])
    assert '1 of the model\'s 2 tensors loaded' in _log_text(work)

    # ... but a file that fills nothing is an error
    path = _foreign(work_dir, tmp_path, {'layer1.weight': torch.zeros(3)})
    runner = build_runner(Config(toy_cfg(str(tmp_path / 'n'), load_from=path)))
    with pytest.raises(CheckpointMismatchError, match="fills none of the model's 2 tensors"):
        runner.train()


def test_failed_save_keeps_the_last_checkpoint_and_pointers(tmp_path, monkeypatch):
    work_dir = str(tmp_path)
    real_write = checkpoint_module.atomic_write_bytes

    def disk_full_at_epoch_2(data: bytes, path: str) -> None:
        if path.endswith('epoch_2.pth'):
            raise OSError(28, 'No space left on device')
        real_write(data, path)

    monkeypatch.setattr(checkpoint_module, 'atomic_write_bytes', disk_full_at_epoch_2)
    runner = build_runner(Config(toy_cfg(work_dir, checkpoint_config=dict(
        interval=1, max_keep_ckpts=1))))
    with pytest.raises(OSError, match='No space left'):
        runner.train()
    first = osp.join(work_dir, 'epoch_1.pth')
    # max_keep_ckpts=1 did not delete the only checkpoint before the new one existed
    assert checkpoint_damage(first) is None
    assert not osp.exists(osp.join(work_dir, 'epoch_2.pth'))
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        assert f.read() == first
    assert osp.realpath(osp.join(work_dir, 'latest.pth')) == osp.realpath(first)
    assert not glob.glob(osp.join(work_dir, '.*tmp'))
