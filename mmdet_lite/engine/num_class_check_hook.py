"""mmdetection 2.x's NumClassCheckHook: heads' ``num_classes`` must match the dataset."""
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from ..registry import HOOKS

# heads whose num_classes is not the number of object classes (class-agnostic proposals, ...)
_EXEMPT = ('RPNHead', 'GARPNHead', 'CascadeRPNHead', 'StageCascadeRPNHead', 'VGG',
           'FusedSemanticHead')


@HOOKS.register_module()
class NumClassCheckHook(Hook):
    """Before training and validation epochs, check every ``num_classes`` of the model.

    Raises a ``ValueError`` naming the module when its ``num_classes`` differs from
    ``len(dataset.CLASSES)``, e.g. a COCO head (80) trained on a 3-class dataset.
    """

    def _check(self, runner, dataset) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        classes = getattr(dataset, 'CLASSES', None)
        if classes is None:
            runner.logger.warning(f'{type(dataset).__name__} has no CLASSES: the number of '
                                  'classes of the model heads is not checked')
            return
        if isinstance(classes, str):
            raise TypeError(f'{type(dataset).__name__}.CLASSES is the string {classes!r}; '
                            f'use a tuple, e.g. CLASSES = ({classes!r}, )')
        for name, module in model.named_modules():
            num_classes = getattr(module, 'num_classes', None)
            if num_classes is None or type(module).__name__ in _EXEMPT:
                continue
            if num_classes != len(classes):
                raise ValueError(
                    f'model.{name} ({type(module).__name__}) has num_classes={num_classes} but '
                    f'{type(dataset).__name__} has {len(classes)} classes {tuple(classes)}; '
                    'set num_classes in the model config to the number of dataset classes')

    def before_train_epoch(self, runner) -> None:
        self._check(runner, runner.train_dataloader.dataset)

    def before_val_epoch(self, runner) -> None:
        self._check(runner, runner.val_dataloader.dataset)
