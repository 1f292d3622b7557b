"""Safe checkpoint loading (weights_only + mmengine bookkeeping only) and atomic writes."""
import glob
import os
import os.path as osp
import pickle
from collections import OrderedDict

import numpy as np
import pytest
import torch
from mmengine.fileio import get_file_backend
from mmengine.logging import HistoryBuffer

from mmdet_lite.engine import (UnsafeCheckpointError, checkpoint_classes, load_checkpoint,
                               load_checkpoint_safely, save_checkpoint_atomic)
from tests.test_engine.toy import ToyDetector


class NotAllowed:
    """A user class: never rebuilt from a checkpoint."""

    def __init__(self, x=1):
        self.x = x


class RunsCode:

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f'touch {self.marker}', ))


class ReachesAttributes:

    def __reduce__(self):
        return (getattr, (HistoryBuffer, '__init__'))


def test_mmengine_bookkeeping_loads(tmp_path):
    buf = HistoryBuffer()
    buf.update(1.5)
    buf.update(np.float64(2.5))
    ckpt = dict(state_dict=OrderedDict(w=torch.ones(2)),
                message_hub=dict(log_scalars=OrderedDict(loss=buf),
                                 runtime_info=OrderedDict(epoch=1, arr=np.arange(3)),
                                 resumed_keys=OrderedDict(loss=True)),
                meta=dict(epoch=1, seed=np.int64(3), CLASSES=('a', 'b')))
    path = str(tmp_path / 'ok.pth')
    save_checkpoint_atomic(ckpt, path)
    with pytest.raises(Exception):  # plain weights_only loading refuses HistoryBuffer
        torch.load(path, weights_only=True)
    got = load_checkpoint_safely(path)
    assert got['message_hub']['log_scalars']['loss'].mean() == pytest.approx(2.0)
    assert got['message_hub']['log_scalars']['loss'].current() == 2.5
    assert np.array_equal(got['message_hub']['runtime_info']['arr'], np.arange(3))
    assert got['meta']['seed'] == 3 and checkpoint_classes(got) == ('a', 'b')


@pytest.mark.parametrize('payload,global_name', [
    (NotAllowed(), 'NotAllowed'),
    (ReachesAttributes(), 'getattr'),
])
def test_foreign_globals_refused(tmp_path, payload, global_name):
    path = str(tmp_path / 'evil.pth')
    torch.save(dict(state_dict={}, meta=dict(x=payload)), path)
    with pytest.raises(UnsafeCheckpointError) as err:
        load_checkpoint_safely(path)
    assert path in str(err.value) and global_name in str(err.value)


@pytest.mark.parametrize('protocol,match', [(2, 'global posix.system'), (4, 'refused')])
def test_code_running_pickle_refused(tmp_path, protocol, match):
    marker = tmp_path / 'pwned'
    path = str(tmp_path / 'evil.pth')
    with open(path, 'wb') as f:
        pickle.dump(dict(state_dict={}, meta=RunsCode(str(marker))), f, protocol=protocol)
    with pytest.raises(UnsafeCheckpointError, match=match) as err:
        load_checkpoint_safely(path)
    assert path in str(err.value)
    assert not marker.exists()
    model = ToyDetector()
    with pytest.raises(UnsafeCheckpointError):
        load_checkpoint(model, path)
    assert not marker.exists()


def test_missing_checkpoint_file(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        load_checkpoint_safely(str(tmp_path / 'nope.pth'))


def test_mmdet2x_model_zoo_checkpoint(tmp_path):
    """A 2.x checkpoint (DataParallel 'module.' keys, meta with CLASSES/config) loads as is."""
    torch.manual_seed(0)
    src = ToyDetector()
    state = OrderedDict((f'module.{k}', v) for k, v in src.state_dict().items())
    path = str(tmp_path / 'zoo.pth')
    torch.save(dict(meta=dict(mmdet_version='2.28.2', CLASSES=('cat', 'dog'),
                              config="model = dict(type='ToyDetector')", epoch=12, iter=100,
                              hook_msgs=dict(last_ckpt='/x/epoch_12.pth')),
                    state_dict=state, optimizer=dict(state={}, param_groups=[])), path)
    dst = ToyDetector()
    ckpt = load_checkpoint(dst, path)
    assert checkpoint_classes(ckpt) == ('cat', 'dog')
    for k, v in src.state_dict().items():
        assert torch.equal(dst.state_dict()[k], v)
    # a bare state_dict works too
    torch.save(src.state_dict(), str(tmp_path / 'bare.pth'))
    dst2 = ToyDetector()
    load_checkpoint(dst2, str(tmp_path / 'bare.pth'))
    assert torch.equal(dst2.fc.weight, src.fc.weight)


def test_atomic_write_keeps_old_file_on_failure(tmp_path):
    path = str(tmp_path / 'ckpt.pth')
    save_checkpoint_atomic(dict(state_dict=dict(w=torch.zeros(1))), path)
    with pytest.raises(Exception):
        save_checkpoint_atomic(dict(state_dict=dict(w=lambda: 0)), path)  # unpicklable
    assert torch.equal(load_checkpoint_safely(path)['state_dict']['w'], torch.zeros(1))
    assert sorted(os.listdir(tmp_path)) == ['ckpt.pth']


def test_atomic_backend_put(tmp_path, monkeypatch):
    backend = get_file_backend(str(tmp_path), backend_args=dict(
        backend='mmdet_lite_atomic_local'))
    target = str(tmp_path / 'a.bin')
    backend.put(b'old', target)

    def crash(src, dst):
        raise OSError('disk full')

    monkeypatch.setattr(os, 'replace', crash)
    with pytest.raises(OSError):
        backend.put(b'new-but-interrupted', target)
    monkeypatch.undo()
    assert open(target, 'rb').read() == b'old'
    assert glob.glob(osp.join(str(tmp_path), '.*')) == []  # temp file cleaned
    backend.put_text('epoch_3.pth', str(tmp_path / 'last_checkpoint'))
    assert open(str(tmp_path / 'last_checkpoint')).read() == 'epoch_3.pth'
