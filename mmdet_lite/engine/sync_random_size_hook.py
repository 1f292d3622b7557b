"""mmdetection 2.x's SyncRandomSizeHook (deprecated there): a random input size per epoch,
the same on every rank."""
import random
import warnings
from typing import Tuple

import torch
from mmengine.dist import broadcast, get_rank
from mmengine.hooks import Hook

from ..registry import HOOKS


@HOOKS.register_module()
class SyncRandomSizeHook(Hook):
    """After every ``interval`` train epochs, rank 0 draws ``size = randint(*ratio_range)`` and
    every rank calls ``train_dataloader.dataset.update_dynamic_scale((32 * size, 32 *
    int(size * img_scale[1] / img_scale[0])))``.

    Deprecated in 2.x (a warning, as there): use ``Resize(img_scale=[...],
    multiscale_mode='range')`` in the pipeline. 2.28's ``MultiImageMixDataset`` no longer has
    ``update_dynamic_scale``, so the hook needs a dataset that has it; without one, training
    stops before it starts with an error saying so (2.28 failed after the first epoch).

    Args:
        ratio_range: the range of ``size`` (multiples of 32).
        img_scale: (width, height) whose aspect ratio the sizes keep.
        interval: change the size every ``interval`` epochs.
        device: accepted for 2.x configs; the broadcast uses the process group's device.
    """

    def __init__(self, ratio_range: Tuple[int, int] = (14, 26),
                 img_scale: Tuple[int, int] = (640, 640), interval: int = 1,
                 device: str = 'cuda') -> None:
        warnings.warn('SyncRandomSizeHook is deprecated (as in mmdetection 2.x): put '
                      "dict(type='Resize', img_scale=[(448, 448), (832, 832)], "
                      "multiscale_mode='range', keep_ratio=True) in the train pipeline instead")
        self.ratio_range = ratio_range
        self.img_scale = img_scale
        self.interval = interval
        self.device = device

    def before_train(self, runner) -> None:
        dataset = runner.train_dataloader.dataset
        if self.ratio_range is not None and not hasattr(dataset, 'update_dynamic_scale'):
            raise TypeError(f'SyncRandomSizeHook: the train dataset ({type(dataset).__name__}) '
                            'has no update_dynamic_scale (mmdetection 2.28 removed it from '
                            "MultiImageMixDataset); use dict(type='Resize', img_scale=[...], "
                            "multiscale_mode='range') in the pipeline instead of this hook")

    def after_train_epoch(self, runner) -> None:
        if self.ratio_range is None or (runner.epoch + 1) % self.interval:
            return
        size = torch.zeros(2, dtype=torch.long)
        if get_rank() == 0:
            factor = random.randint(*self.ratio_range)
            size[0] = 32 * factor
            size[1] = 32 * int(factor * self.img_scale[1] / self.img_scale[0])
        broadcast(size, 0)
        runner.train_dataloader.dataset.update_dynamic_scale((int(size[0]), int(size[1])))
