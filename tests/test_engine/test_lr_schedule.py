"""The lr at every iteration equals mmcv 1.x's LrUpdaterHook, computed here by hand.

Toy run: 10 samples, 2 per batch -> 5 iterations per epoch, base lr 0.1.
"""
import math

import pytest
from mmengine.config import Config

from mmdet_lite.engine import build_runner
from tests.test_engine.toy import toy_cfg

BASE = 0.1
ITERS_PER_EPOCH = 5


def _run(tmp_path, lr_config, max_epochs=2, runner=None, **extra):
    cfg = toy_cfg(str(tmp_path), lr_config=lr_config, checkpoint_config=None,
                  optimizer=dict(type='SGD', lr=BASE, momentum=0.9),
                  runner=runner or dict(type='EpochBasedRunner', max_epochs=max_epochs),
                  custom_hooks=[dict(type='LrRecorderHook')], **extra)
    r = build_runner(Config(cfg))
    r.train()
    rec = [h for h in r.hooks if type(h).__name__ == 'LrRecorderHook'][0]
    assert rec.logged == pytest.approx(rec.lrs, abs=0)  # the logged lr is the one used
    return r, rec.lrs


def _check(name, got, expected):
    assert len(got) == len(expected)
    diff = max(abs(g - e) for g, e in zip(got, expected))
    print(f'{name}: max abs lr diff vs hand values = {diff:.3e}')
    assert diff < 1e-12


def test_step_with_linear_warmup_by_epoch(tmp_path):
    # warmup (7 iters) reaches into epoch 2, where it multiplies the already decayed lr
    lrs = _run(tmp_path, dict(policy='step', warmup='linear', warmup_iters=7,
                              warmup_ratio=0.001, step=[1, 2]), max_epochs=3)[1]
    expected = []
    for it in range(15):
        epoch = it // ITERS_PER_EPOCH
        regular = BASE * [1.0, 0.1, 0.01][epoch]
        if it < 7:
            regular *= 1 - (1 - it / 7) * (1 - 0.001)
        expected.append(regular)
    assert expected[0] == pytest.approx(1e-4)  # warmup starts at base * warmup_ratio
    assert expected[5] == pytest.approx(0.01 * (1 - (2 / 7) * 0.999))
    _check('step+linear', lrs, expected)


def test_step_min_lr_and_int_step(tmp_path):
    lrs = _run(tmp_path, dict(policy='step', step=1, gamma=0.5, min_lr=0.03), max_epochs=3)[1]
    expected = [max(BASE * 0.5**(it // 5), 0.03) for it in range(15)]
    assert expected[-1] == 0.03
    _check('step int + min_lr', lrs, expected)


def test_cosine_per_iter_with_exp_warmup(tmp_path):
    lrs = _run(tmp_path, dict(policy='CosineAnnealing', by_epoch=False, min_lr=0.001,
                              warmup='exp', warmup_iters=4, warmup_ratio=0.1))[1]
    expected = []
    for it in range(10):
        regular = 0.001 + (BASE - 0.001) * (1 + math.cos(math.pi * it / 10)) / 2
        if it < 4:
            regular *= 0.1**(1 - it / 4)
        expected.append(regular)
    _check('cosine+exp', lrs, expected)


def test_cosine_by_epoch_min_lr_ratio(tmp_path):
    lrs = _run(tmp_path, dict(policy='CosineAnnealing', min_lr_ratio=0.01), max_epochs=3)[1]
    target = BASE * 0.01
    expected = [target + (BASE - target) * (1 + math.cos(math.pi * (it // 5) / 3)) / 2
                for it in range(15)]
    _check('cosine by epoch', lrs, expected)


def test_poly_by_epoch_with_constant_warmup(tmp_path):
    lrs = _run(tmp_path, dict(policy='poly', power=2.0, min_lr=1e-4, warmup='constant',
                              warmup_iters=3, warmup_ratio=0.5))[1]
    expected = []
    for it in range(10):
        regular = (BASE - 1e-4) * (1 - (it // 5) / 2)**2 + 1e-4
        expected.append(regular * 0.5 if it < 3 else regular)
    _check('poly+constant', lrs, expected)


def test_poly_per_iter_iter_based_runner(tmp_path):
    lrs = _run(tmp_path, dict(policy='Poly', power=1.0, by_epoch=False),
               runner=dict(type='IterBasedRunner', max_iters=8))[1]
    _check('poly iter-based', lrs, [BASE * (1 - it / 8) for it in range(8)])


def test_fixed_with_warmup_by_epoch(tmp_path):
    lrs = _run(tmp_path, dict(policy='fixed', warmup='linear', warmup_iters=1,
                              warmup_by_epoch=True, warmup_ratio=0.2))[1]
    expected = [BASE * (1 - (1 - it / 5) * 0.8) if it < 5 else BASE for it in range(10)]
    _check('fixed+linear warmup by epoch', lrs, expected)


def test_no_lr_config_keeps_lr_and_paramwise_cfg(tmp_path):
    runner, lrs = _run(tmp_path, None, optimizer_config=dict(
        grad_clip=dict(max_norm=3.0, norm_type=2)))
    assert lrs == [BASE] * 10
    assert runner.optim_wrapper.clip_grad_kwargs == dict(max_norm=3.0, norm_type=2)


def test_paramwise_cfg_bias_decay(tmp_path):
    cfg = toy_cfg(str(tmp_path), checkpoint_config=None, optimizer=dict(
        type='SGD', lr=BASE, momentum=0.9, weight_decay=0.01,
        paramwise_cfg=dict(bias_decay_mult=0.0, bias_lr_mult=2.0)),
        lr_config=dict(policy='step', step=[1], warmup='linear', warmup_iters=2,
                       warmup_ratio=0.5), runner=dict(type='EpochBasedRunner', max_epochs=2))
    runner = build_runner(Config(cfg))
    runner.train()
    groups = runner.optim_wrapper.optimizer.param_groups
    by_shape = {tuple(g['params'][0].shape): g for g in groups}
    assert by_shape[(1, 3)]['weight_decay'] == 0.01 and by_shape[(1, )]['weight_decay'] == 0
    # every group follows the schedule from its own initial lr (bias: 2 x base)
    assert by_shape[(1, 3)]['lr'] == pytest.approx(BASE * 0.1)
    assert by_shape[(1, )]['lr'] == pytest.approx(2 * BASE * 0.1)


@pytest.mark.parametrize('lr_config,match', [
    (dict(policy='step'), 'lr_config.step'),
    (dict(policy='CyclicLr'), 'policy'),
    (dict(policy='step', step=[1], warmup='linear', warmup_iters=0), 'warmup_iters'),
    (dict(policy='step', step=[1], warmup='quadratic', warmup_iters=3), 'warmup'),
    (dict(policy='CosineAnnealing'), 'min_lr'),
    (dict(policy='step', step=[1], warmpu_iters=3), 'warmpu_iters'),
])
def test_bad_lr_config(tmp_path, lr_config, match):
    with pytest.raises((ValueError, KeyError), match=match):
        build_runner(Config(toy_cfg(str(tmp_path), lr_config=lr_config)))
