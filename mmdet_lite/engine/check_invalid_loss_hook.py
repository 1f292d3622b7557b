"""mmdetection 2.x's CheckInvalidLossHook: stop when the loss becomes infinite or NaN."""
import torch
from mmengine.hooks import Hook

from ..registry import HOOKS


@HOOKS.register_module()
class CheckInvalidLossHook(Hook):
    """Every ``interval`` train iterations, raise a ``RuntimeError`` if the total loss of that
    iteration (``outputs['loss']``) is not finite.

    Args:
        interval: check every ``interval`` iterations.
    """

    def __init__(self, interval: int = 50) -> None:
        self.interval = interval

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs=None) -> None:
        if not self.every_n_train_iters(runner, self.interval):
            return
        loss = (outputs or {}).get('loss')
        if loss is None:
            raise KeyError('CheckInvalidLossHook: the train step returned no total loss '
                           f"('loss') at iteration {runner.iter + 1}")
        if not torch.isfinite(torch.as_tensor(loss)).all():
            raise RuntimeError(f'loss became infinite or NaN at iteration {runner.iter + 1} '
                               f'(epoch {runner.epoch + 1}): {outputs}')
