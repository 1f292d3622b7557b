"""mmdetection 2.x's SetEpochInfoHook: tell the model which epoch it trains (TOOD)."""
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from ..registry import HOOKS


@HOOKS.register_module()
class SetEpochInfoHook(Hook):
    """Before every train epoch, ``model.set_epoch(runner.epoch)`` (0-based)."""

    def before_train_epoch(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        if not hasattr(model, 'set_epoch'):
            raise AttributeError(f'SetEpochInfoHook: {type(model).__name__} has no '
                                 'set_epoch(epoch) (the 2.x detector that needs it is TOOD); '
                                 'remove the hook from custom_hooks')
        model.set_epoch(runner.epoch)
