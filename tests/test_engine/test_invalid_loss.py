"""A loss that becomes infinite stops training naming the iteration and the loss term, and
nothing broken is saved; gradient norms are in the log with grad_clip (issue 16, item 4)."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook

from mmdet_lite.engine import InvalidLossError, build_runner, load_checkpoint_safely
from mmdet_lite.engine.checkpoint_validation import checkpoint_damage
from mmdet_lite.registry import HOOKS
from tests.test_engine.toy import toy_cfg


@HOOKS.register_module(force=True)
class ExplodeHook(Hook):
    """Before iteration ``at`` (1-based), sets the weights to ``value``: 1e30 makes the loss
    overflow to inf, as a diverging run does; NaN stands for a step that went NaN."""

    def __init__(self, at: int, value: float = 1e30):
        self.at, self.value = at, value

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if runner.iter + 1 == self.at:
            model = runner.model.module if hasattr(runner.model, 'module') else runner.model
            with torch.no_grad():
                model.fc.weight.fill_(self.value)


def _log_text(work_dir: str) -> str:
    with open(sorted(glob.glob(osp.join(work_dir, '*', '*.log')))[-1]) as f:
        return f.read()


def test_infinite_loss_stops_naming_iteration_term_and_batch(tmp_path):
    work_dir = str(tmp_path)
    # 5 iterations an epoch: iteration 7 is the 2nd of epoch 2
    runner = build_runner(Config(toy_cfg(
        work_dir, custom_hooks=[dict(type='ExplodeHook', at=7)],
        optimizer_config=dict(grad_clip=dict(max_norm=35, norm_type=2)), log_level='INFO')))
    with pytest.raises(InvalidLossError) as err:
        runner.train()
    message = str(err.value)
    first = osp.join(work_dir, 'epoch_1.pth')
    assert 'loss_toy became infinite or NaN at iteration 7 (epoch 2, iteration 2 of the ' \
        'epoch): loss_toy=inf' in message
    assert f'the last checkpoint is {first}' in message
    assert "images of this batch: ['1.jpg', '2.jpg']" in message  # seed 0's order
    assert 'gradient norms of the last iterations' in message and 'grad_clip' in message
    assert isinstance(err.value, AssertionError)  # 2.x's hook asserted
    # nothing of the diverged epoch was saved; the pointers name the last good checkpoint
    assert not osp.exists(osp.join(work_dir, 'epoch_2.pth'))
    assert checkpoint_damage(first) is None
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        assert f.read() == first
    # grad_clip logs the gradient norm of every logged iteration (here: each one)
    log = _log_text(work_dir)
    assert log.count('grad_norm: ') == 6


def test_a_diverged_model_is_never_saved(tmp_path):
    # the configured hook checks every 50 iterations only; the save at iteration 6 finds the
    # weights that went NaN at iteration 4 and refuses to write them
    work_dir = str(tmp_path)
    runner = build_runner(Config(toy_cfg(
        work_dir, runner=dict(type='IterBasedRunner', max_iters=8),
        lr_config=dict(policy='step', step=[6], by_epoch=False),
        checkpoint_config=dict(interval=3, by_epoch=False),
        custom_hooks=[dict(type='CheckInvalidLossHook', interval=50),
                      dict(type='ExplodeHook', at=4, value=float('nan'))])))
    with pytest.raises(InvalidLossError, match=r"not saving '.*iter_6.pth': 2 parameters are "
                       r"infinite or NaN \(first: \['fc.weight', 'fc.bias'\]\)"):
        runner.train()
    assert not osp.exists(osp.join(work_dir, 'iter_6.pth'))
    kept = load_checkpoint_safely(osp.join(work_dir, 'iter_3.pth'))
    assert all(torch.isfinite(v).all() for v in kept['state_dict'].values())
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        assert f.read().endswith('iter_3.pth')
