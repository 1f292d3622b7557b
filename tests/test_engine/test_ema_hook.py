"""ExpMomentumEMAHook / LinearMomentumEMAHook: the EMA weights after N iterations equal a direct
computation of mmdetection 2.x's update, evaluation and checkpoints see them, and resuming (from
our checkpoints or 2.x's ema_* layout) keeps the EMA state."""
import math
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from torch import nn

from mmdet_lite.checkpoint import load_checkpoint_safely
from mmdet_lite.engine import build_runner, runner_kwargs
from mmdet_lite.engine.ema_hook import ExpMomentumEMA, LinearMomentumEMA, legacy_ema_key
from tests.test_engine.toy import toy_cfg

ITERS = 10  # 2 epochs x 5 iterations


def _train(work_dir, ema_hook, **overrides):
    cfg = toy_cfg(str(work_dir), evaluation=dict(interval=1, metric='bbox'),
                  custom_hooks=[ema_hook, dict(type='WeightRecorderHook')], **overrides)
    runner = build_runner(Config(cfg))
    runner.train()
    ema = [h for h in runner.hooks if type(h).__name__.endswith('EMAHook')][0]
    rec = [h for h in runner.hooks if type(h).__name__ == 'WeightRecorderHook'][0]
    return runner, ema, rec


def _flat_ema(hook):
    return torch.cat([p.detach().flatten() for p in hook.ema_model.module.parameters()])


def _direct(start, weights, momentum_at, interval, first=0):
    """2.x: ema = (1 - m) * ema + m * w after iterations it with (it + 1) % interval == 0."""
    ema = start.double()
    for it, w in enumerate(weights, start=first):
        if (it + 1) % interval == 0:
            m = momentum_at(it)
            ema = (1 - m) * ema + m * w.double()
    return ema


@pytest.fixture(scope='module')
def exp_run(tmp_path_factory):
    work_dir = tmp_path_factory.mktemp('ema_exp')
    hook = dict(type='ExpMomentumEMAHook', resume_from=None, momentum=0.05, total_iter=4,
                priority=49)
    return (work_dir,) + _train(work_dir, hook)


def test_exp_momentum_ema_equals_direct_computation(exp_run):
    work_dir, runner, ema, rec = exp_run
    assert len(rec.iters) == ITERS

    def m(it):
        return (1 - 0.05) * math.exp(-(1 + it) / 4) + 0.05

    expected = _direct(rec.start, rec.iters, m, interval=1)
    got = _flat_ema(ema)
    assert torch.allclose(got.double(), expected, atol=1e-6)
    assert not torch.allclose(got, rec.iters[-1])  # the EMA is not the raw weights
    # validation after epoch 1 ran with the EMA of iterations 0..4
    assert torch.allclose(rec.val[0].double(), _direct(rec.start, rec.iters[:5], m, 1),
                          atol=1e-6)
    # the checkpoint: EMA weights in state_dict, raw weights and the step count beside them
    ckpt = load_checkpoint_safely(osp.join(work_dir, 'epoch_2.pth'))
    state = torch.cat([ckpt['state_dict'][k].flatten() for k in ('fc.weight', 'fc.bias')])
    assert torch.allclose(state.double(), expected, atol=1e-6)
    raw = torch.cat([ckpt['ema_state_dict'][f'module.{k}'].flatten()
                     for k in ('fc.weight', 'fc.bias')])
    assert torch.equal(raw, rec.iters[-1])
    assert int(ckpt['ema_state_dict']['steps']) == ITERS


def test_linear_momentum_ema_with_interval(tmp_path):
    hook = dict(type='LinearMomentumEMAHook', momentum=0.5, warm_up=3, interval=2)
    _, ema, rec = _train(tmp_path, hook)

    def m(it):
        return min(0.5**2, (1 + it) / (3 + it))

    expected = _direct(rec.start, rec.iters, m, interval=2)
    assert torch.allclose(_flat_ema(ema).double(), expected, atol=1e-6)


def test_resume_keeps_the_ema_state(exp_run, tmp_path):
    work_dir, _, ema_full, rec_full = exp_run
    # 2.x style: the hook's resume_from resumes the run after epoch 1
    hook = dict(type='ExpMomentumEMAHook', momentum=0.05, total_iter=4, priority=49,
                resume_from=osp.join(work_dir, 'epoch_1.pth'))
    runner, ema, rec = _train(tmp_path / 'resumed', hook)
    assert len(rec.iters) == 5  # iterations 5..9 only
    assert torch.equal(rec.iters[-1], rec_full.iters[-1])
    assert torch.allclose(_flat_ema(ema), _flat_ema(ema_full), atol=1e-7)


def test_resume_from_a_2x_ema_checkpoint(exp_run, tmp_path):
    """2.x kept the raw weights as model buffers ema_<name> and the EMA in the parameters."""
    work_dir, _, ema_full, rec_full = exp_run
    ckpt = load_checkpoint_safely(osp.join(work_dir, 'epoch_1.pth'))
    state = ckpt['state_dict']
    for key, value in list(ckpt.pop('ema_state_dict').items()):
        if key.startswith('module.'):
            state[legacy_ema_key(key[len('module.'):])] = value
    assert 'ema_fc_weight' in state
    legacy = str(tmp_path / 'epoch_1_2x.pth')
    torch.save(ckpt, legacy)
    hook = dict(type='ExpMomentumEMAHook', momentum=0.05, total_iter=4, priority=49)
    _, ema, rec = _train(tmp_path / 'resumed', hook, resume_from=legacy)
    assert torch.equal(rec.iters[-1], rec_full.iters[-1])
    assert torch.allclose(_flat_ema(ema), _flat_ema(ema_full), atol=1e-7)
    # load_from a 2.x checkpoint: the EMA weights, without its ema_* entries
    _, ema, rec = _train(tmp_path / 'loaded', hook, load_from=legacy,
                         runner=dict(type='EpochBasedRunner', max_epochs=1))
    ema_weights = torch.cat([state['fc.weight'].flatten(), state['fc.bias'].flatten()])
    assert torch.equal(rec.start, ema_weights)


def test_hook_resume_from_becomes_the_runs(tmp_path):
    hook = dict(type='ExpMomentumEMAHook', resume_from='a.pth')
    kwargs = runner_kwargs(Config(toy_cfg(str(tmp_path), custom_hooks=[hook])))
    assert (kwargs['load_from'], kwargs['resume']) == ('a.pth', True)
    assert 'resume_from' not in kwargs['custom_hooks'][0]
    with pytest.raises(ValueError, match='differ'):
        runner_kwargs(Config(toy_cfg(str(tmp_path), custom_hooks=[hook], resume_from='b.pth')))


def _bn_model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))


@pytest.mark.parametrize('update_buffers', [True, False])
def test_averaged_model_buffers(update_buffers):
    """skip_buffers=False (update_buffers) averages BN statistics; otherwise they follow."""
    model = _bn_model()
    ema = ExpMomentumEMA(model, momentum=0.1, gamma=3, update_buffers=update_buffers)
    start_mean = model[1].running_mean.clone()
    expected = start_mean.double()
    for it in range(4):
        model(torch.randn(4, 2))  # training mode: the running statistics move
        ema.steps.fill_(it)
        ema.update_parameters(model)
        m = 0.9 * math.exp(-(1 + it) / 3) + 0.1
        expected = (1 - m) * expected + m * model[1].running_mean.double()
    got = ema.module[1].running_mean
    if update_buffers:
        assert torch.allclose(got.double(), expected, atol=1e-6)
    else:
        assert torch.equal(got, model[1].running_mean)
    assert ema.module[1].num_batches_tracked == (0 if update_buffers else 4)


def test_linear_momentum_and_bad_momentum():
    ema = LinearMomentumEMA(_bn_model(), momentum=0.3, gamma=10, interval=2)
    assert ema.momentum_at(0) == pytest.approx(min(0.09, 1 / 10))
    assert ema.momentum_at(20) == pytest.approx(0.09)
    with pytest.raises(ValueError, match='momentum'):
        ExpMomentumEMA(_bn_model(), momentum=1.5)
