"""mmdetection 2.x's SyncNormHook: average the normalisation layers' states across ranks."""
from mmengine.dist import all_reduce_params, get_world_size
from mmengine.hooks import Hook
from torch import nn

from ..registry import HOOKS


@HOOKS.register_module()
class SyncNormHook(Hook):
    """After every ``interval``-th train epoch (every epoch once epoch ``e`` with ``e + 1 ==
    max_epochs - num_last_epochs`` has begun), replace the floating-point state (weights, biases,
    running statistics) of every ``BatchNorm``/``InstanceNorm`` layer with its mean over ranks.
    Single-process runs have nothing to synchronise. (Integer counters such as
    ``num_batches_tracked`` are equal on all ranks and stay as they are.)

    Args:
        num_last_epochs: from ``max_epochs - num_last_epochs`` on, synchronise every epoch.
        interval: synchronise every ``interval`` epochs before that.
    """

    def __init__(self, num_last_epochs: int = 15, interval: int = 1) -> None:
        self.interval = interval
        self.num_last_epochs = num_last_epochs

    def before_train_epoch(self, runner) -> None:
        if runner.epoch + 1 == runner.max_epochs - self.num_last_epochs:
            self.interval = 1

    def after_train_epoch(self, runner) -> None:
        if (runner.epoch + 1) % self.interval or get_world_size() == 1:
            return
        states = [tensor for module in runner.model.modules()
                  if isinstance(module, nn.modules.batchnorm._NormBase)
                  for tensor in module.state_dict(keep_vars=True).values()
                  if tensor.dtype.is_floating_point]
        if states:
            all_reduce_params(states, op='mean')
