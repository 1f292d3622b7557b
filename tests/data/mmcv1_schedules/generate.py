"""Reference lr / momentum sequences from mmcv 1.7.2's own LR and momentum hooks (and
mmdetection 2.28's YOLOXLrUpdaterHook), for tests/test_engine/test_lr_policies.py.

Run with the oracle venv (../../../../shared/mmdet2_oracle/README.md), from the repo root:
    /tmp/mmdet2_venv/bin/python tests/data/mmcv1_schedules/generate.py
It drives each hook the way mmcv 1.x's EpochBasedRunner does (before_run; per epoch
before_train_epoch; per iteration before_train_iter, then iter += 1) on an optimizer with two
param groups (lr 0.1 and 0.02) and writes reference.json: per case the 2.x config and the
(lr, momentum) of both groups at every iteration.
"""
import json
import os
import sys
from types import SimpleNamespace

ORACLE = os.environ.get('MMDET2_ORACLE', '/work/shared/mmdet2_oracle')
sys.path.insert(0, os.path.join(ORACLE, 'mmdet2_shim'))
import mmcv_ops_shim  # noqa: E402

mmcv_ops_shim.install()
import mmcv  # noqa: E402
import torch  # noqa: E402
from mmcv.runner.hooks import HOOKS  # noqa: E402

import mmdet.core.hook  # noqa: E402,F401  (registers YOLOXLrUpdaterHook)

PER_EPOCH = 5
CASES = [
    # name, max_epochs, optimizer, lr_config, momentum_config
    ('step_linear_warmup', 3, 'sgd', dict(policy='step', step=[1, 2], warmup='linear',
                                          warmup_iters=7, warmup_ratio=0.001), None),
    ('step_int_min_lr_iter', 3, 'sgd', dict(policy='step', step=4, gamma=0.5, min_lr=0.02,
                                            by_epoch=False), None),
    ('fixed_warmup_by_epoch', 2, 'sgd', dict(policy='fixed', warmup='constant', warmup_iters=1,
                                             warmup_by_epoch=True, warmup_ratio=0.3), None),
    ('exp_exp_warmup', 3, 'sgd', dict(policy='exp', gamma=0.7, warmup='exp', warmup_iters=6,
                                      warmup_ratio=0.01), None),
    ('poly_iter', 3, 'sgd', dict(policy='poly', power=0.9, min_lr=1e-4, by_epoch=False), None),
    ('inv_iter', 3, 'sgd', dict(policy='inv', gamma=0.05, power=0.75, by_epoch=False), None),
    ('cosine_ratio', 4, 'sgd', dict(policy='CosineAnnealing', min_lr_ratio=0.01, warmup='linear',
                                    warmup_iters=3, warmup_ratio=0.1), None),
    ('linear_annealing_iter', 3, 'sgd', dict(policy='LinearAnnealing', min_lr=0.001,
                                             by_epoch=False), None),
    ('flat_cosine', 4, 'sgd', dict(policy='FlatCosineAnnealing', start_percent=0.5,
                                   min_lr=0.001), None),
    ('cosine_restart_iter', 3, 'sgd', dict(policy='CosineRestart', periods=[5, 10],
                                           restart_weights=[1, 0.6], min_lr_ratio=0.1,
                                           by_epoch=False), None),
    ('cyclic_gamma', 4, 'sgd', dict(policy='cyclic', target_ratio=(10, 1e-4), cyclic_times=2,
                                    step_ratio_up=0.4, gamma=0.8),
     dict(policy='cyclic', target_ratio=(0.85 / 0.95, 1), cyclic_times=2, step_ratio_up=0.4)),
    ('cyclic_linear', 3, 'adam', dict(policy='cyclic', target_ratio=5.0, anneal_strategy='linear'),
     dict(policy='cyclic', anneal_strategy='linear')),
    ('one_cycle', 4, 'sgd', dict(policy='OneCycle', max_lr=[1.0, 0.5], pct_start=0.3),
     dict(policy='OneCycle', base_momentum=0.85, max_momentum=0.95, pct_start=0.3)),
    ('one_cycle_three_phase', 4, 'adam',
     dict(policy='OneCycle', max_lr=0.2, pct_start=0.25, three_phase=True, div_factor=10,
          final_div_factor=100, anneal_strategy='linear'),
     dict(policy='OneCycle', pct_start=0.25, three_phase=True)),
    ('yolox', 6, 'sgd', dict(policy='YOLOX', warmup='exp', by_epoch=False, warmup_by_epoch=True,
                             warmup_ratio=1, warmup_iters=2, num_last_epochs=1,
                             min_lr_ratio=0.05), None),
    ('momentum_step', 3, 'sgd', None, dict(policy='step', step=[1, 2], gamma=0.5,
                                           min_momentum=0.3)),
    ('momentum_cosine_warmup', 3, 'sgd', None,
     dict(policy='CosineAnnealing', min_momentum_ratio=0.5, warmup='linear', warmup_iters=4,
          warmup_ratio=0.9)),
    ('momentum_linear_exp_warmup', 3, 'adam', None,
     dict(policy='LinearAnnealing', min_momentum=0.8, by_epoch=False, warmup='exp',
          warmup_iters=3, warmup_ratio=0.95)),
]


def _hook(config, suffix):
    config = dict(config)
    policy = config.pop('policy')
    if policy == policy.lower():
        policy = policy.title()
    return mmcv.build_from_cfg(dict(type=policy + suffix, **config), HOOKS)


def run(max_epochs, optimizer, lr_config, momentum_config):
    params = [torch.nn.Parameter(torch.zeros(1)), torch.nn.Parameter(torch.zeros(1))]
    groups = [dict(params=[params[0]], lr=0.1), dict(params=[params[1]], lr=0.02)]
    optim = (torch.optim.SGD(groups, lr=0.1, momentum=0.9) if optimizer == 'sgd' else
             torch.optim.Adam(groups, lr=0.1, betas=(0.9, 0.999)))
    runner = SimpleNamespace(epoch=0, iter=0, max_epochs=max_epochs,
                             max_iters=max_epochs * PER_EPOCH,
                             data_loader=list(range(PER_EPOCH)), optimizer=optim)
    hooks = []
    if lr_config is not None:
        hooks.append(_hook(lr_config, 'LrUpdaterHook'))
    if momentum_config is not None:
        hooks.append(_hook(momentum_config, 'MomentumUpdaterHook'))
    for hook in hooks:
        hook.before_run(runner)
    seen = []
    for epoch in range(max_epochs):
        runner.epoch = epoch
        for hook in hooks:
            hook.before_train_epoch(runner)
        for _ in range(PER_EPOCH):
            for hook in hooks:
                hook.before_train_iter(runner)
            seen.append([[g['lr'], g['momentum'] if 'momentum' in g else g['betas'][0]]
                         for g in optim.param_groups])
            runner.iter += 1
    return seen


def main():
    out = dict(per_epoch=PER_EPOCH, mmcv=mmcv.__version__, cases=[])
    for name, max_epochs, optimizer, lr_config, momentum_config in CASES:
        out['cases'].append(dict(name=name, max_epochs=max_epochs, optimizer=optimizer,
                                 lr_config=lr_config, momentum_config=momentum_config,
                                 values=run(max_epochs, optimizer, lr_config,
                                            momentum_config)))
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'reference.json')
    with open(path, 'w') as f:
        json.dump(out, f)
    print(f'wrote {len(CASES)} cases to {path}')


if __name__ == '__main__':
    main()
