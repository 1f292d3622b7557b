"""mmdetection 2.x's NumClassCheckHook: heads' ``num_classes`` must match the dataset."""
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from ..datasets.utils import check_num_classes
from ..registry import HOOKS


@HOOKS.register_module()
class NumClassCheckHook(Hook):
    """Before training and validation epochs, run
    :func:`~mmdet_lite.datasets.utils.check_num_classes` on the model and the epoch's dataset.

    Raises a ``ValueError`` naming the module when its ``num_classes`` differs from
    ``len(dataset.CLASSES)``, e.g. a COCO head (80) trained on a 3-class dataset; a dataset
    without ``CLASSES`` is logged as unchecked.
    """

    def _check(self, runner, dataset) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        if getattr(dataset, 'CLASSES', None) is None:
            runner.logger.warning(f'{type(dataset).__name__} has no CLASSES: the number of '
                                  'classes of the model heads is not checked')
            return
        check_num_classes(model, dataset)

    def before_train_epoch(self, runner) -> None:
        self._check(runner, runner.train_dataloader.dataset)

    def before_val_epoch(self, runner) -> None:
        self._check(runner, runner.val_dataloader.dataset)
