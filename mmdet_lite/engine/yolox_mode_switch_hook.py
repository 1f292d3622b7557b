"""mmdetection 2.x's YOLOXModeSwitchHook: the last epochs train without Mosaic/MixUp and with
YOLOX's extra L1 box loss."""
import warnings
from typing import Sequence

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from ..registry import HOOKS


@HOOKS.register_module()
class YOLOXModeSwitchHook(Hook):
    """Before the train epoch ``e`` (0-based) with ``e + 1 >= max_epochs - num_last_epochs``
    (2.x switched at ``==``; ``>=`` also switches a run resumed after that epoch):
    ``train_dataloader.dataset.update_skip_type_keys(skip_type_keys)`` (a
    ``MultiImageMixDataset``) and ``model.bbox_head.use_l1 = True``.

    As in 2.x, the switch happens one epoch before the last ``num_last_epochs`` (the YOLOX LR
    policy's fixed tail). With ``persistent_workers`` the workers are restarted once so that
    they see the new ``skip_type_keys``.

    Args:
        num_last_epochs: see above.
        skip_type_keys: the pipeline transform types to skip from then on.
    """

    def __init__(self, num_last_epochs: int = 15,
                 skip_type_keys: Sequence[str] = ('Mosaic', 'RandomAffine', 'MixUp')) -> None:
        self.num_last_epochs = num_last_epochs
        self.skip_type_keys = skip_type_keys
        self._switched = False
        self._restart_dataloader = False

    def before_train_epoch(self, runner) -> None:
        loader = runner.train_dataloader
        if self._restart_dataloader:  # the workers have been restarted: back to persistent
            loader._DataLoader__initialized = True
            self._restart_dataloader = False
        if self._switched or runner.epoch + 1 < runner.max_epochs - self.num_last_epochs:
            return
        dataset = loader.dataset
        if not hasattr(dataset, 'update_skip_type_keys'):
            raise TypeError(f'YOLOXModeSwitchHook: the train dataset is a '
                            f'{type(dataset).__name__}, which cannot skip transforms; wrap it '
                            "in data.train=dict(type='MultiImageMixDataset', ...)")
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        if getattr(model, 'bbox_head', None) is None:
            raise AttributeError(f'YOLOXModeSwitchHook: {type(model).__name__} has no bbox_head '
                                 'to switch the L1 loss on')
        runner.logger.info(f'YOLOXModeSwitchHook: no {list(self.skip_type_keys)} from epoch '
                           f'{runner.epoch + 1} on')
        dataset.update_skip_type_keys(self.skip_type_keys)
        if getattr(loader, 'persistent_workers', False):
            # the persistent workers hold the old pipeline: make the next epoch start new ones
            loader._DataLoader__initialized = False
            loader._iterator = None
            self._restart_dataloader = True
        if not hasattr(model.bbox_head, 'use_l1'):
            warnings.warn(f'YOLOXModeSwitchHook: {type(model.bbox_head).__name__} has no '
                          'use_l1 switch (a YOLOXHead does); use_l1=True is set but nothing '
                          'reads it')
        runner.logger.info('YOLOXModeSwitchHook: L1 loss on (bbox_head.use_l1 = True)')
        model.bbox_head.use_l1 = True
        self._switched = True
