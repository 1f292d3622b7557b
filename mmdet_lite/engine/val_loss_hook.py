"""The ``('val', N)`` workflow phase of mmcv 1.x: validation *losses* after training epochs."""
import copy
from typing import Dict, Optional

import torch
from mmengine import dist
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from ..registry import HOOKS


@HOOKS.register_module()
class ValLossHook(Hook):
    """After every ``interval`` training epochs, log the average losses over ``dataloader``.

    As mmcv 1.x's runner did for ``workflow=[('train', 1), ('val', 1)]``: the model is put in
    eval mode, each batch goes through the loss forward under ``torch.no_grad``, and the losses
    are averaged over the samples of the whole pass (weighted by batch size, summed over ranks)
    and logged as ``val/<loss name>``. The dataloader is built from ``data.val`` with the TRAIN
    pipeline (mmdetection 2.x's ``tools/train.py`` did the same), so ground truth is available.

    Args:
        dataloader: an mmengine dataloader config (or a built ``DataLoader``).
        interval: run after every ``interval`` training epochs.
    """

    priority = 'LOW'

    def __init__(self, dataloader, interval: int = 1) -> None:
        if interval < 1:
            raise ValueError(f"workflow ('val', {interval}): the count must be >= 1")
        self._dataloader_cfg = dataloader
        self._dataloader = None
        self.interval = interval
        self.last_losses: Dict[str, float] = {}

    def _get_dataloader(self, runner):
        if self._dataloader is None:
            cfg = self._dataloader_cfg
            if isinstance(cfg, dict):
                cfg = copy.deepcopy(cfg)
            self._dataloader = runner.build_dataloader(cfg, seed=runner.seed)
        return self._dataloader

    def after_train_epoch(self, runner) -> None:
        if not self.every_n_epochs(runner, self.interval):
            return
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        was_training = model.training
        model.eval()
        sums: Dict[str, torch.Tensor] = {}
        num_samples = torch.zeros((), dtype=torch.float64)
        try:
            with torch.no_grad():
                for data_batch in self._get_dataloader(runner):
                    data = model.data_preprocessor(data_batch, True)
                    losses = model(**data, mode='loss')
                    _, log_vars = model.parse_losses(losses)
                    batch_size = _batch_size(data_batch)
                    num_samples += batch_size
                    for name, value in log_vars.items():
                        value = torch.as_tensor(float(value), dtype=torch.float64)
                        sums[name] = sums.get(name, torch.zeros((), dtype=torch.float64)) \
                            + value * batch_size
        finally:
            model.train(was_training)
        names = sorted(sums)
        packed = torch.stack([num_samples] + [sums[n] for n in names])
        if dist.get_world_size() > 1:
            dist.all_reduce(packed, op='sum')
        if packed[0] == 0:
            raise RuntimeError("workflow ('val', N): data.val gave no samples for the val losses")
        self.last_losses = {n: float(packed[i + 1] / packed[0]) for i, n in enumerate(names)}
        epoch = runner.epoch + 1
        for name, value in self.last_losses.items():
            runner.message_hub.update_scalar(f'val/{name}', value)
        runner.visualizer.add_scalars({f'val/{k}': v for k, v in self.last_losses.items()},
                                      step=epoch)
        text = ', '.join(f'{k}: {v:.4f}' for k, v in self.last_losses.items())
        runner.logger.info(f'Epoch(val losses) [{epoch}] {text} '
                           f'({int(packed[0])} samples)')


def _batch_size(data_batch: Optional[dict]) -> int:
    img = data_batch.get('img') if isinstance(data_batch, dict) else None
    if isinstance(img, torch.Tensor):
        return int(img.shape[0])
    if isinstance(img, (list, tuple)) and img and isinstance(img[0], torch.Tensor):
        return int(img[0].shape[0])
    metas = data_batch.get('img_metas') if isinstance(data_batch, dict) else None
    if isinstance(metas, (list, tuple)):
        return len(metas)
    raise ValueError('cannot tell the batch size of a validation batch: it has no img '
                     'Tensor and no img_metas list')
