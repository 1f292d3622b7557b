"""A run resumed after epoch 1 ends with the weights of the uninterrupted run (issue 16, item 2):
with evaluation and ``save_best``, a ``('val', 1)`` workflow, an LR warm-up that crosses the
resume point and training that draws random numbers (python, numpy, torch) every iteration."""
import os.path as osp
import random

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook

from mmdet_lite.engine import build_runner, load_checkpoint_safely
from mmdet_lite.registry import HOOKS
from tests.test_engine.toy import ToyDetDataset, toy_cfg


@HOOKS.register_module(force=True)
class RandomNudgeHook(Hook):
    """Adds noise drawn from the global generators to the weights before every iteration, as
    a RoI sampler or random augmentation in the main process draws from them; records lrs."""

    def __init__(self):
        self.lrs = []

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        model = runner.model.module if hasattr(runner.model, 'module') else runner.model
        noise = (torch.randn(()) + float(np.random.rand()) + random.random()) * 1e-3
        with torch.no_grad():
            model.fc.bias.add_(noise)
        self.lrs.append(runner.optim_wrapper.optimizer.param_groups[0]['lr'])


def _cfg(work_dir: str, **overrides) -> Config:
    return Config(toy_cfg(
        work_dir, workflow=[('train', 1), ('val', 1)],
        evaluation=dict(interval=1, metric='bbox', save_best='auto'),
        # 5 iterations an epoch: the warm-up ends in epoch 2, after the resume point
        lr_config=dict(policy='step', step=[2], warmup='linear', warmup_iters=8,
                       warmup_ratio=0.1),
        runner=dict(type='EpochBasedRunner', max_epochs=3),
        custom_hooks=[dict(type='NumClassCheckHook'), dict(type='RandomNudgeHook')],
        **overrides))


def _weights(runner):
    model = runner.model.module if hasattr(runner.model, 'module') else runner.model
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _state(runner):
    weights = _weights(runner)
    optim = runner.optim_wrapper.optimizer.state_dict()
    momenta = {k: v['momentum_buffer'].clone() for k, v in optim['state'].items()}
    hook = [h for h in runner.hooks if isinstance(h, RandomNudgeHook)][0]
    return weights, momenta, hook.lrs


@pytest.fixture(scope='module')
def full_run(tmp_path_factory):
    work_dir = str(tmp_path_factory.mktemp('full'))
    full = build_runner(_cfg(work_dir))
    full.train()
    return full, work_dir


# resumed after epoch 1: inside the warm-up; after epoch 2: evaluation, the val-loss pass and
# save_best ran between the checkpoint and epoch 3 in the uninterrupted run
@pytest.mark.parametrize('resume_epoch', [1, 2])
def test_resumed_run_ends_where_the_uninterrupted_one_does(full_run, tmp_path, resume_epoch):
    full, work_dir = full_run
    checkpoint = osp.join(work_dir, f'epoch_{resume_epoch}.pth')
    assert 'rng_state' in load_checkpoint_safely(checkpoint)['meta']
    resumed = build_runner(_cfg(str(tmp_path / 'resumed'), resume_from=checkpoint))
    resumed.train()
    assert (resumed.epoch, resumed.iter) == (full.epoch, full.iter) == (3, 15)
    w_full, m_full, lr_full = _state(full)
    w_res, m_res, lr_res = _state(resumed)
    # the resumed run's learning rates are those of the same iterations of the full run
    assert lr_res == pytest.approx(lr_full[5 * resume_epoch:], rel=0, abs=0)
    for k in w_full:
        assert torch.equal(w_full[k], w_res[k]), k
    for k in m_full:
        assert torch.equal(m_full[k], m_res[k]), k
    # save_best compared against the best score of the interrupted part too
    assert osp.exists(osp.join(str(tmp_path / 'resumed'), 'epoch_3.pth'))


def test_iter_based_resume_skips_trained_batches_without_loading_them(tmp_path, monkeypatch):
    loaded = []
    real_getitem = ToyDetDataset.__getitem__

    def counting_getitem(self, i):
        loaded.append(i)
        return real_getitem(self, i)

    monkeypatch.setattr(ToyDetDataset, '__getitem__', counting_getitem)

    def cfg(work_dir, **overrides):  # 10 samples, 2 a batch: 5 batches a pass over the data
        return Config(toy_cfg(work_dir, runner=dict(type='IterBasedRunner', max_iters=9),
                              lr_config=dict(policy='step', step=[6], by_epoch=False),
                              checkpoint_config=dict(interval=7, by_epoch=False), **overrides))

    full = build_runner(cfg(str(tmp_path / 'full')))
    full.train()
    full_order = list(loaded)
    assert len(full_order) == 18
    loaded.clear()
    resumed = build_runner(cfg(str(tmp_path / 'resumed'),
                               resume_from=str(tmp_path / 'full' / 'iter_7.pth')))
    resumed.train()
    # iterations 8 and 9 only: the 7 trained batches (one pass and two) were not read again,
    # and the batches that follow are the uninterrupted run's
    assert loaded == full_order[14:]
    w_full, w_res = _weights(full), _weights(resumed)
    assert all(torch.equal(w_full[k], w_res[k]) for k in w_full)
