"""Runner semantics with the toy detector: training, val-loss workflow, checkpoints, resume."""
import glob
import json
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config

from mmdet_lite.engine import build_runner, load_checkpoint_safely
from tests.test_engine.toy import toy_cfg, toy_sample


def _final_weights(runner):
    model = runner.model.module if hasattr(runner.model, 'module') else runner.model
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _scalars(work_dir):
    files = glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))
    assert len(files) == 1, files
    with open(files[0]) as f:
        return [json.loads(line) for line in f]


@pytest.fixture(scope='module')
def two_epoch_run(tmp_path_factory):
    work_dir = str(tmp_path_factory.mktemp('two_epochs'))
    cfg = Config(toy_cfg(work_dir, workflow=[('train', 1), ('val', 1)],
                         evaluation=dict(interval=1, metric='bbox', save_best='auto')))
    runner = build_runner(cfg)
    runner.train()
    return runner, work_dir


def test_two_epochs_checkpoints_and_meta(two_epoch_run):
    runner, work_dir = two_epoch_run
    assert runner.epoch == 2 and runner.iter == 10  # 10 samples / 2 per batch * 2 epochs
    for name in ('epoch_1.pth', 'epoch_2.pth', 'latest.pth', 'last_checkpoint'):
        assert osp.exists(osp.join(work_dir, name)), name
    assert osp.realpath(osp.join(work_dir, 'latest.pth')) == osp.realpath(
        osp.join(work_dir, 'epoch_2.pth'))
    # save_best='auto' (rule 'greater') keeps the best checkpoint of the first metric
    assert glob.glob(osp.join(work_dir, 'best_num_epoch_*.pth'))
    ckpt = load_checkpoint_safely(osp.join(work_dir, 'epoch_2.pth'))
    assert ckpt['meta']['CLASSES'] == ('cat', 'dog')
    assert ckpt['meta']['epoch'] == 2 and ckpt['meta']['iter'] == 10
    assert "type='ToyDetector'" in ckpt['meta']['config']
    for k, v in _final_weights(runner).items():
        assert torch.equal(ckpt['state_dict'][k], v)
    # no temp files left by the atomic writes
    assert not glob.glob(osp.join(work_dir, '.*tmp'))


def test_val_workflow_logs_val_losses(two_epoch_run):
    runner, work_dir = two_epoch_run
    hook = [h for h in runner.hooks if type(h).__name__ == 'ValLossHook'][0]
    # independent computation: the final model on data.val (5 samples, start 100) through the
    # TRAIN pipeline (scale 1; the val pipeline's scale 100 would give a far larger loss)
    w = runner.model.fc.weight.detach().double()
    b = runner.model.fc.bias.detach().double()
    losses = []
    for i in range(100, 105):
        s = toy_sample(i, scale=1.0)
        pred = s['img'].double().mean(dim=(1, 2)) @ w[0] + b[0]
        losses.append(float((pred - len(s['gt_bboxes']))**2))
    expected = float(np.mean(losses))
    assert hook.last_losses['loss_toy'] == pytest.approx(expected, rel=1e-5)
    assert hook.last_losses['loss'] == pytest.approx(expected, rel=1e-5)
    logged = [r for r in _scalars(work_dir) if 'val/loss_toy' in r]
    assert [r['step'] for r in logged] == [1, 2]
    assert logged[-1]['val/loss_toy'] == pytest.approx(expected, rel=1e-5)
    # evaluation through DatasetMetric saw every val image once, in order
    metrics = [r for r in _scalars(work_dir) if 'num' in r]
    assert [(r['num'], r['unique'], r['id_sum'], r['in_order']) for r in metrics] == \
        [(5, 5, sum(range(100, 105)), 1.0)] * 2


def test_resume_gives_identical_weights(two_epoch_run, tmp_path):
    runner, work_dir = two_epoch_run
    cfg = Config(toy_cfg(str(tmp_path), workflow=[('train', 1), ('val', 1)],
                         evaluation=dict(interval=1, metric='bbox', save_best='auto'),
                         resume_from=osp.join(work_dir, 'epoch_1.pth')))
    resumed = build_runner(cfg)
    resumed.train()
    assert resumed.iter == 10 and resumed.epoch == 2
    full, res = _final_weights(runner), _final_weights(resumed)
    max_diff = max(float((full[k] - res[k]).abs().max()) for k in full)
    print(f'resume identity: max abs weight diff = {max_diff}')
    assert max_diff == 0.0
    # the resumed run trained only epoch 2
    assert not osp.exists(osp.join(str(tmp_path), 'epoch_1.pth'))
    assert osp.exists(osp.join(str(tmp_path), 'epoch_2.pth'))


def test_auto_resume_and_max_keep_ckpts(tmp_path):
    cfg = toy_cfg(str(tmp_path), checkpoint_config=dict(interval=1, max_keep_ckpts=2),
                  runner=dict(type='EpochBasedRunner', max_epochs=3))
    build_runner(Config(cfg)).train()
    names = sorted(n for n in map(osp.basename, glob.glob(osp.join(str(tmp_path), '*.pth'))))
    assert names == ['epoch_2.pth', 'epoch_3.pth', 'latest.pth']
    # auto_resume picks up epoch 3 and trains epochs 4-5 only
    cfg.update(runner=dict(type='EpochBasedRunner', max_epochs=5), auto_resume=True)
    runner = build_runner(Config(cfg))
    runner.train()
    assert runner.iter == 25
    names = sorted(n for n in map(osp.basename, glob.glob(osp.join(str(tmp_path), '*.pth'))))
    assert names == ['epoch_4.pth', 'epoch_5.pth', 'latest.pth']


def test_iter_based_runner(tmp_path):
    cfg = toy_cfg(str(tmp_path), runner=dict(type='IterBasedRunner', max_iters=7),
                  lr_config=dict(policy='step', step=[5], by_epoch=False),
                  checkpoint_config=dict(interval=3, by_epoch=False))
    runner = build_runner(Config(cfg))
    runner.train()
    assert runner.iter == 7
    names = sorted(map(osp.basename, glob.glob(osp.join(str(tmp_path), '*.pth'))))
    assert names == ['iter_3.pth', 'iter_6.pth', 'iter_7.pth', 'latest.pth']


def test_load_from_initialises_weights(two_epoch_run, tmp_path):
    runner, work_dir = two_epoch_run
    cfg = toy_cfg(str(tmp_path), load_from=osp.join(work_dir, 'epoch_2.pth'),
                  optimizer=dict(type='SGD', lr=0.0), runner=dict(type='EpochBasedRunner',
                                                                   max_epochs=1))
    loaded = build_runner(Config(cfg))
    loaded.train()  # lr 0: the weights stay those of the checkpoint
    assert loaded.iter == 5  # load_from does not resume the counters
    full, got = _final_weights(runner), _final_weights(loaded)
    assert all(torch.equal(full[k], got[k]) for k in full)
