"""Every mmcv 1.x LR and momentum policy: the value at every iteration equals mmcv 1.x's formula,
written out here by hand.

The hooks are driven the way mmengine's train loops call them (before_train; per epoch
before_train_epoch; per iteration before_train_iter, then iter += 1) on a real optimizer, so
each case takes milliseconds; test_lr_schedule.py and the momentum case at the end run the same
hooks inside the runner.
"""
import json
import math
import os.path as osp
from types import SimpleNamespace

import pytest
import torch
from mmengine.config import Config

from mmdet_lite.engine import build_runner
from mmdet_lite.engine.schedules import lr_hook, momentum_hook
from mmdet_lite.registry import HOOKS
from tests.test_engine.toy import toy_cfg

BASE = 0.1
PER_EPOCH = 5


def _cos(start, end, f, w=1.0):
    return end + 0.5 * w * (start - end) * (1 + math.cos(math.pi * f))


def _build(section, **config):
    """The hook a 2.x ``lr_config``/``momentum_config`` dict becomes."""
    translate = lr_hook if section == 'lr_config' else momentum_hook
    return HOOKS.build(translate(Config({section: config})))


def _drive(hooks, max_epochs=3, max_iters=None, optimizer=None):
    """(lr, momentum) of group 0 at every iteration. ``max_iters``: an iteration-based loop."""
    params = [torch.nn.Parameter(torch.zeros(1))]
    optimizer = optimizer or torch.optim.SGD(params, lr=BASE, momentum=0.9)
    iter_based = max_iters is not None
    runner = SimpleNamespace(
        epoch=0, iter=0, max_epochs=1 if iter_based else max_epochs,
        max_iters=max_iters if iter_based else max_epochs * PER_EPOCH,
        train_dataloader=list(range(PER_EPOCH)),
        optim_wrapper=SimpleNamespace(optimizer=optimizer))
    seen = []
    for hook in hooks:
        hook.before_train(runner)
    for epoch in range(runner.max_epochs):
        runner.epoch = epoch
        for hook in hooks:
            hook.before_train_epoch(runner)
        for batch_idx in range(runner.max_iters if iter_based else PER_EPOCH):
            for hook in hooks:
                hook.before_train_iter(runner, batch_idx)
            group = optimizer.param_groups[0]
            seen.append((group['lr'], group.get('momentum', group.get('betas', [None])[0])))
            runner.iter += 1
    return seen


def _check(got, expected):
    assert len(got) == len(expected)
    diff = max(abs(g - e) for g, e in zip(got, expected))
    assert diff < 1e-12, (diff, got, expected)


def _lrs(hook, **kw):
    return [lr for lr, _ in _drive([hook], **kw)]


def test_exp_and_inv_by_epoch_and_iter():
    hook = _build('lr_config', policy='exp', gamma=0.5)
    _check(_lrs(hook), [BASE * 0.5**(it // PER_EPOCH) for it in range(15)])
    hook = _build('lr_config', policy='inv', gamma=0.1, power=2.0, by_epoch=False)
    _check(_lrs(hook), [BASE * (1 + 0.1 * it)**-2.0 for it in range(15)])


def test_step_gamma_min_lr_per_iteration_with_exp_warmup():
    hook = _build('lr_config', policy='step', by_epoch=False, step=[4, 9], gamma=0.2,
                  min_lr=0.005, warmup='exp', warmup_iters=3, warmup_ratio=0.01)
    expected = []
    for it in range(15):
        regular = max(BASE * 0.2**((it >= 4) + (it >= 9)), 0.005)
        expected.append(regular * 0.01**(1 - it / 3) if it < 3 else regular)
    assert expected[-1] == 0.005  # 0.1 * 0.04 = 0.004 is floored
    _check(_lrs(hook), expected)


def test_linear_annealing_and_flat_cosine():
    hook = _build('lr_config', policy='LinearAnnealing', min_lr_ratio=0.1, by_epoch=False)
    _check(_lrs(hook), [BASE + (BASE * 0.1 - BASE) * it / 15 for it in range(15)])
    # 4 epochs, flat until round(4 * 0.5) = 2, cosine over the last 2 epochs
    hook = _build('lr_config', policy='FlatCosineAnnealing', start_percent=0.5, min_lr=0.01)
    expected = [BASE if it // PER_EPOCH < 2 else _cos(BASE, 0.01, (it // PER_EPOCH - 2) / 2)
                for it in range(20)]
    _check(_lrs(hook, max_epochs=4), expected)


def test_cosine_restart_per_iteration():
    hook = _build('lr_config', policy='CosineRestart', by_epoch=False, periods=[6, 9],
                  restart_weights=[1, 0.5], min_lr=0.001)
    expected = [_cos(BASE, 0.001, it / 6) if it < 6 else _cos(BASE, 0.001, (it - 6) / 9, 0.5)
                for it in range(15)]
    assert expected[6] == pytest.approx(0.001 + 0.5 * (BASE - 0.001))  # restart at half
    _check(_lrs(hook), expected)
    with pytest.raises(ValueError, match='periods'):
        _lrs(_build('lr_config', policy='CosineRestart', periods=[1], min_lr=0.0))


def test_cyclic_two_cycles_with_gamma_and_linear():
    # 20 iterations, 2 cycles of 10: up for int(0.4 * 10) = 4 iterations to 10x, down to 1e-4x
    hook = _build('lr_config', policy='cyclic', target_ratio=(10, 1e-4), cyclic_times=2,
                  step_ratio_up=0.4, gamma=0.5)
    expected = []
    for it in range(20):
        cycle, k = divmod(it, 10)
        scale = 0.5**cycle
        if k < 4:
            expected.append(_cos(BASE, BASE * (1 - scale + 10 * scale), k / 4))
        else:
            expected.append(_cos(BASE * (1 - scale + 10 * scale), BASE * 1e-4, (k - 4) / 6))
    assert expected[4] == pytest.approx(1.0) and expected[14] == pytest.approx(0.55)
    _check(_lrs(hook, max_iters=20), expected)
    hook = _build('lr_config', policy='cyclic', target_ratio=5.0, anneal_strategy='linear')
    expected = [BASE + (5 * BASE - BASE) * it / 4 if it < 4 else
                5 * BASE + (5e-5 * BASE - 5 * BASE) * (it - 4) / 6 for it in range(10)]
    _check(_lrs(hook, max_iters=10), expected)


@pytest.mark.parametrize('three_phase', [False, True])
def test_one_cycle(three_phase):
    # 20 iterations; start = 1.0 / 25 = 0.04; peak at pct_start * 20 - 1 = 5
    hook = _build('lr_config', policy='OneCycle', max_lr=1.0, pct_start=0.3,
                  three_phase=three_phase)
    start, floor = 1.0 / 25, 1.0 / 25 / 1e4
    expected = []
    for it in range(20):
        if it <= 5:
            expected.append(_cos(start, 1.0, it / 5))
        elif not three_phase:
            expected.append(_cos(1.0, floor, (it - 5) / (19 - 5)))
        elif it <= 10:
            expected.append(_cos(1.0, start, (it - 5) / (10 - 5)))
        else:
            expected.append(_cos(start, floor, (it - 10) / (19 - 10)))
    _check(_lrs(hook, max_iters=20), expected)  # the optimizer's lr (0.1) is not used
    with pytest.raises(ValueError, match='total_steps'):
        _lrs(_build('lr_config', policy='OneCycle', max_lr=1.0, total_steps=10), max_iters=20)


def test_yolox_policy_as_the_2x_yolox_config():
    # yolox_s_8x8_300e_coco.py's lr_config, on 4 epochs of 5 iterations: 1 warmup epoch,
    # 1 epoch at the fixed final lr
    hook = _build('lr_config', policy='YOLOX', warmup='exp', by_epoch=False,
                  warmup_by_epoch=True, warmup_ratio=1, warmup_iters=1, num_last_epochs=1,
                  min_lr_ratio=0.05)
    expected = []
    for it in range(20):
        if it < 5:  # warmup of the initial lr: ((iter + 1) / 5) ** 2
            expected.append(BASE * ((it + 1) / 5)**2)
        elif it + 1 >= 20 - 5:
            expected.append(BASE * 0.05)
        else:
            expected.append(_cos(BASE, BASE * 0.05, (it + 1 - 5) / (20 - 5 - 5)))
    _check(_lrs(hook, max_epochs=4), expected)


def test_policy_names_follow_mmcv():
    assert type(_build('lr_config', policy='yolox', num_last_epochs=1, min_lr=0.)).__name__ \
        == 'YOLOXLrUpdaterHook'  # lowercase 'yolox' -> 'Yolox' is matched case-insensitively
    assert type(_build('lr_config', policy='fixed')).__name__ == 'FixedLrUpdaterHook'
    with pytest.raises(KeyError, match=r"unknown key\(s\) \['num_last_epochs'\]"):
        _build('lr_config', policy='CosineAnnealing', min_lr=0., num_last_epochs=1)
    with pytest.raises(ValueError, match="policy='Sine'"):
        _build('lr_config', policy='Sine')
    with pytest.raises(ValueError, match='by_epoch=False only'):
        _build('momentum_config', policy='cyclic', by_epoch=True)
    with pytest.raises(ValueError, match='min_momentum'):
        _build('momentum_config', policy='CosineAnnealing')


def _momenta(hooks, **kw):
    return [m for _, m in _drive(hooks, **kw)]


def test_momentum_step_and_cosine_with_linear_warmup():
    hook = _build('momentum_config', policy='step', step=[1, 2], gamma=0.5, min_momentum=0.3)
    _check(_momenta([hook]), [max(0.9 * 0.5**(it // PER_EPOCH), 0.3) for it in range(15)])
    hook = _build('momentum_config', policy='CosineAnnealing', min_momentum_ratio=0.5,
                  warmup='linear', warmup_iters=4, warmup_ratio=0.9)
    expected = []
    for it in range(15):
        regular = _cos(0.9, 0.45, (it // PER_EPOCH) / 3)
        k = (1 - it / 4) * (1 - 0.9)
        expected.append(regular / (1 - k) if it < 4 else regular)
    _check(_momenta([hook]), expected)
    hook = _build('momentum_config', policy='LinearAnnealing', min_momentum=0.8,
                  by_epoch=False)
    _check(_momenta([hook]), [0.9 + (0.8 - 0.9) * it / 15 for it in range(15)])


def test_cyclic_lr_with_cyclic_momentum_as_2x_pairs_them():
    lr = _build('lr_config', policy='cyclic', target_ratio=(10, 1e-4), cyclic_times=1,
                step_ratio_up=0.4)
    mom = _build('momentum_config', policy='cyclic', target_ratio=(0.85 / 0.95, 1),
                 cyclic_times=1, step_ratio_up=0.4)
    got = _drive([lr, mom], max_iters=10)
    expected_m = [_cos(0.9, 0.9 * 0.85 / 0.95, it / 4) if it < 4 else
                  _cos(0.9 * 0.85 / 0.95, 0.9, (it - 4) / 6) for it in range(10)]
    _check([m for _, m in got], expected_m)
    _check([lr for lr, _ in got], [_cos(BASE, 10 * BASE, it / 4) if it < 4 else
                                   _cos(10 * BASE, 1e-5, (it - 4) / 6) for it in range(10)])


def test_one_cycle_momentum_on_adam_betas():
    params = [torch.nn.Parameter(torch.zeros(1))]
    adam = torch.optim.Adam(params, lr=BASE, betas=(0.9, 0.999))
    hook = _build('momentum_config', policy='OneCycle', base_momentum=0.85, max_momentum=0.95,
                  pct_start=0.3)
    expected = [_cos(0.95, 0.85, it / 5) if it <= 5 else _cos(0.85, 0.95, (it - 5) / (19 - 5))
                for it in range(20)]
    _check(_momenta([hook], max_iters=20, optimizer=adam), expected)
    assert adam.param_groups[0]['betas'][1] == 0.999


def test_momentum_config_through_the_runner(tmp_path):
    # 2 epochs x 5 iterations, iteration-based cyclic lr and momentum as in 2.x's 3D configs
    cfg = toy_cfg(str(tmp_path), checkpoint_config=None,
                  optimizer=dict(type='SGD', lr=BASE, momentum=0.9),
                  lr_config=dict(policy='cyclic', target_ratio=(10, 1e-4), step_ratio_up=0.4),
                  momentum_config=dict(policy='cyclic', target_ratio=(0.85 / 0.95, 1),
                                       step_ratio_up=0.4),
                  custom_hooks=[dict(type='LrRecorderHook')])
    runner = build_runner(Config(cfg))
    runner.train()
    rec = [h for h in runner.hooks if type(h).__name__ == 'LrRecorderHook'][0]
    expected = [_cos(0.9, 0.9 * 0.85 / 0.95, it / 4) if it < 4 else
                _cos(0.9 * 0.85 / 0.95, 0.9, (it - 4) / 6) for it in range(10)]
    _check(rec.momenta, expected)
    _check(rec.lrs, [_cos(BASE, 10 * BASE, it / 4) if it < 4 else
                     _cos(10 * BASE, 1e-5, (it - 4) / 6) for it in range(10)])


def _reference_cases():
    path = osp.join(osp.dirname(__file__), '..', 'data', 'mmcv1_schedules', 'reference.json')
    with open(path) as f:
        return json.load(f)['cases']


@pytest.mark.parametrize('case', _reference_cases(), ids=lambda c: c['name'])
def test_equals_mmcv_1x_own_hooks(case):
    """Two param groups (lr 0.1 and 0.02): both groups' lr and momentum at every iteration equal
    those mmcv 1.7.2's hooks gave (tests/data/mmcv1_schedules/generate.py)."""
    params = [torch.nn.Parameter(torch.zeros(1)), torch.nn.Parameter(torch.zeros(1))]
    groups = [dict(params=[params[0]], lr=0.1), dict(params=[params[1]], lr=0.02)]
    optim = (torch.optim.SGD(groups, lr=0.1, momentum=0.9) if case['optimizer'] == 'sgd' else
             torch.optim.Adam(groups, lr=0.1, betas=(0.9, 0.999)))
    hooks = [_build(section, **case[section]) for section in ('lr_config', 'momentum_config')
             if case[section] is not None]
    got = []
    recorder = SimpleNamespace(before_train=lambda r: None, before_train_epoch=lambda r: None,
                               before_train_iter=lambda r, i: got.append(
                                   [[g['lr'], g['momentum'] if 'momentum' in g else
                                     g['betas'][0]] for g in optim.param_groups]))
    _drive(hooks + [recorder], max_epochs=case['max_epochs'], optimizer=optim)
    expected = case['values']
    assert len(got) == len(expected) == case['max_epochs'] * PER_EPOCH
    diff = max(abs(a - b) for g, e in zip(got, expected) for ga, ea in zip(g, e)
               for a, b in zip(ga, ea))
    assert diff < 1e-12, diff
