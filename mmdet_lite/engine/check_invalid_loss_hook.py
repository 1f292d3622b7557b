"""mmdetection 2.x's CheckInvalidLossHook: stop when a loss becomes infinite or NaN, naming the
iteration, the loss terms and the batch; :func:`non_finite_parameters` for the checkpoint save."""
import math
from typing import List, Optional

import torch
from mmengine.hooks import Hook
from mmengine.runner import EpochBasedTrainLoop

from ..registry import HOOKS


class InvalidLossError(RuntimeError, AssertionError):
    """A loss (or, at a checkpoint save, a weight) is infinite or NaN. Also an
    ``AssertionError``, as mmdetection 2.x's hook asserted."""


def non_finite_parameters(model: torch.nn.Module) -> List[str]:
    """Names of the parameters of ``model`` holding an infinite or NaN value."""
    return [name for name, p in model.named_parameters()
            if p.is_floating_point() and not bool(torch.isfinite(p).all())]


def _as_float(value) -> Optional[float]:
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        return float(value.detach())
    if isinstance(value, (int, float)):
        return float(value)
    return None


def _batch_files(data_batch) -> List[str]:
    """The file names of a collated batch (``img_metas`` of mmdet_collate), if it has them."""
    metas = data_batch.get('img_metas') if isinstance(data_batch, dict) else None
    if not isinstance(metas, (list, tuple)):
        return []
    return [str(m.get('ori_filename') or m.get('filename')) for m in metas
            if isinstance(m, dict) and (m.get('ori_filename') or m.get('filename'))]


def _recent_grad_norms(runner, count: int = 5) -> List[float]:
    hub = getattr(runner, 'message_hub', None)
    if hub is None or 'train/grad_norm' not in hub.log_scalars:
        return []
    values = hub.get_scalar('train/grad_norm').data[0]
    return [round(float(v), 3) for v in values[-count:]]


@HOOKS.register_module()
class CheckInvalidLossHook(Hook):
    """Every ``interval`` train iterations, raise :class:`InvalidLossError` if a loss of that
    iteration is infinite or NaN, naming the iteration, the loss terms, the batch's images and
    the gradient norms logged last. The runner registers one with ``interval=1`` when the config
    has none (checking costs nothing: the logger reads the same values every iteration).

    Runs before the checkpoint, logger and EMA hooks (priority ``VERY_HIGH``), so nothing is
    saved from the diverged step.

    Args:
        interval: check every ``interval`` iterations.
    """

    priority = 'VERY_HIGH'

    def __init__(self, interval: int = 50) -> None:
        self.interval = interval

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs=None) -> None:
        if not self.every_n_train_iters(runner, self.interval):
            return
        outputs = outputs or {}
        if outputs.get('loss') is None:
            raise KeyError('CheckInvalidLossHook: the train step returned no total loss '
                           f"('loss') at iteration {runner.iter + 1}")
        values = {k: _as_float(v) for k, v in outputs.items()}
        bad = [k for k, v in values.items() if v is not None and not math.isfinite(v)]
        if values['loss'] is None and not bool(torch.isfinite(
                torch.as_tensor(outputs['loss'])).all()):
            bad.append('loss')
        if not bad:
            return
        terms = [k for k in bad if k != 'loss'] or ['loss']
        shown = ', '.join(f'{k}={values.get(k, "non-finite")}' for k in terms)
        where = f'iteration {runner.iter + 1}'
        loop = getattr(runner, 'train_loop', None)
        if isinstance(loop, EpochBasedTrainLoop) or (loop is None and hasattr(runner, 'epoch')):
            where += f' (epoch {runner.epoch + 1}, iteration {batch_idx + 1} of the epoch)'
        message = [f'{", ".join(terms)} became infinite or NaN at {where}: {shown} (total '
                   f'loss={values.get("loss")}). Training stopped before any hook saved this '
                   'step']
        hub = getattr(runner, 'message_hub', None)
        last = hub.get_info('last_ckpt') if hub is not None else None
        if last:
            message.append(f'the last checkpoint is {last}')
        norms = _recent_grad_norms(runner)
        if norms:
            message.append(f'gradient norms of the last iterations: {norms}')
        files = _batch_files(data_batch)
        if files:
            message.append(f'images of this batch: {files}')
        message.append('Lower the learning rate or lengthen the warm-up, set optimizer_config='
                       'dict(grad_clip=dict(max_norm=35, norm_type=2)), or check the images '
                       'and annotations of this batch')
        raise InvalidLossError('; '.join(message[:-1]) + '. ' + message[-1])
