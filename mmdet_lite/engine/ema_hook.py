"""mmdetection 2.x's EMA hooks (``ExpMomentumEMAHook``, ``LinearMomentumEMAHook``) on
mmengine's ``EMAHook`` and averaged models.

The averaging is 2.x's exactly: from the weights at the start of training (after ``load_from``),
after every ``interval``-th iteration ``it`` (0-based, ``(it + 1) % interval == 0``)::

    ema = (1 - m(it)) * ema + m(it) * weight      (floating-point entries only)

``ExpMomentumEMAHook``: ``m(it) = (1 - momentum) * exp(-(1 + it) / total_iter) + momentum``;
``LinearMomentumEMAHook``: ``m(it) = min(momentum ** interval, (1 + it) / (warm_up + it))``.
``skip_buffers=False`` (2.x's default) averages the buffers (BN statistics) too; ``True``
averages the parameters only and evaluates with the model's own buffers. (mmengine's averaged
models copy the weights at their first update instead; ours do not, as 2.x.)

Evaluation and checkpoints see the EMA weights, as in 2.x: mmengine's ``EMAHook`` swaps them
into the model around every validation/test epoch, and a checkpoint's ``state_dict`` holds the
EMA weights (so ``tools/test.py`` evaluates them), its ``ema_state_dict`` the raw training
weights and the step count. 2.x kept the raw weights as model buffers named ``ema_<name with
'.' → '_'>`` instead; such a checkpoint resumes here with its EMA state, and ``load_from`` of
one takes its EMA weights and drops the ``ema_*`` entries. ``resume_from`` of the hook config
is the run's ``resume_from`` (``hooks_config.ema_resume_from``).
"""
import math
from typing import Dict, Optional

import torch
from mmengine.hooks import EMAHook
from mmengine.model import BaseAveragedModel, is_model_wrapper

from ..registry import HOOKS, MODELS


class IterationMomentumEMA(BaseAveragedModel):
    """EMA with a momentum that depends on the training iteration (``steps``), 2.x style.

    Args:
        model: the model to average.
        momentum: the base momentum (weight of the new value), in (0, 1).
        interval: average after every ``interval`` iterations.
        device: where the averaged copy lives (None: the model's device).
        update_buffers: average buffers too (else they follow the model's).
    """

    def __init__(self, model: torch.nn.Module, momentum: float = 0.0002, interval: int = 1,
                 device: Optional[torch.device] = None, update_buffers: bool = False) -> None:
        if not 0 < momentum < 1:
            raise ValueError(f'EMA momentum must be in (0, 1), got {momentum}')
        super().__init__(model, interval, device, update_buffers)
        self.momentum = momentum

    def momentum_at(self, step: int) -> float:
        raise NotImplementedError

    def avg_func(self, averaged_param: torch.Tensor, source_param: torch.Tensor,
                 steps: int) -> None:
        m = self.momentum_at(steps)
        averaged_param.mul_(1 - m).add_(source_param, alpha=m)

    def update_parameters(self, model: torch.nn.Module) -> None:
        """Average at the iteration held in ``steps`` (the hook sets it), then count it."""
        step = int(self.steps)
        if (step + 1) % self.interval == 0:
            source = (model.state_dict() if self.update_buffers else
                      dict(model.named_parameters()))
            for name, averaged in self.avg_parameters.items():
                if averaged.dtype.is_floating_point:
                    self.avg_func(averaged.data, source[name].data.to(averaged.device), step)
        if not self.update_buffers:
            for b_avg, b_src in zip(self.module.buffers(), model.buffers()):
                b_avg.data.copy_(b_src.data.to(b_avg.device))
        self.steps += 1


@MODELS.register_module()
class ExpMomentumEMA(IterationMomentumEMA):
    """``m(it) = (1 - momentum) * exp(-(1 + it) / gamma) + momentum``."""

    def __init__(self, model: torch.nn.Module, momentum: float = 0.0002, gamma: int = 2000,
                 **kwargs) -> None:
        super().__init__(model, momentum=momentum, **kwargs)
        self.gamma = gamma

    def momentum_at(self, step: int) -> float:
        return (1 - self.momentum) * math.exp(-(1 + step) / self.gamma) + self.momentum


@MODELS.register_module()
class LinearMomentumEMA(IterationMomentumEMA):
    """``m(it) = min(momentum ** interval, (1 + it) / (gamma + it))``."""

    def __init__(self, model: torch.nn.Module, momentum: float = 0.0002, gamma: int = 100,
                 **kwargs) -> None:
        super().__init__(model, momentum=momentum, **kwargs)
        self.gamma = gamma

    def momentum_at(self, step: int) -> float:
        return min(self.momentum**self.interval, (1 + step) / (self.gamma + step))


def legacy_ema_key(name: str) -> str:
    """The model-buffer name under which mmdetection 2.x kept the copy of ``name``."""
    return 'ema_' + name.replace('.', '_')


class BaseEMAHook(EMAHook):
    """mmdetection 2.x's ``BaseEMAHook`` arguments on mmengine's ``EMAHook``.

    Args:
        momentum: the base momentum.
        interval: average every ``interval`` iterations.
        skip_buffers: average the parameters only.
        resume_from: must be None here; the config translation makes it the run's
            ``resume_from``.
        ema_type / ema_kwargs: the averaged model (set by the subclasses).
    """

    def __init__(self, momentum: float = 0.0002, interval: int = 1, skip_buffers: bool = False,
                 resume_from: Optional[str] = None, ema_type: str = 'ExpMomentumEMA',
                 **ema_kwargs) -> None:
        if resume_from is not None:
            raise ValueError(f'{type(self).__name__}(resume_from={resume_from!r}): set the '
                             "config's top-level resume_from (a config's custom_hooks entry is "
                             'moved there by build_runner)')
        super().__init__(ema_type=ema_type, momentum=momentum, interval=interval,
                         update_buffers=not skip_buffers, **ema_kwargs)
        self._ema_restored = False

    def before_run(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        self.src_model = model
        self.ema_model = MODELS.build(self.ema_cfg, default_args=dict(model=model))

    def before_train(self, runner) -> None:
        super().before_train(runner)
        if not self._ema_restored:
            # 2.x started from the weights the run starts from (initialised or loaded)
            ema_state = self.ema_model.module.state_dict()
            for name, value in self.src_model.state_dict().items():
                ema_state[name].copy_(value)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        self.ema_model.steps.fill_(runner.iter)
        self.ema_model.update_parameters(self.src_model)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        legacy = self._pop_legacy_ema(checkpoint.get('state_dict', {}))
        if legacy and 'ema_state_dict' not in checkpoint and runner._resume:
            # 2.x's epoch checkpoints: parameters = EMA, ema_* buffers = raw weights, the
            # layout of mmengine's (state_dict = EMA, ema_state_dict = raw)
            checkpoint['ema_state_dict'] = {f'module.{k}': v for k, v in legacy.items()}
        self._ema_restored = bool(runner._resume and 'ema_state_dict' in checkpoint)
        super().after_load_checkpoint(runner, checkpoint)

    def _pop_legacy_ema(self, state_dict: dict) -> Dict[str, torch.Tensor]:
        """Remove 2.x's ``ema_*`` entries from ``state_dict``; return them by model key."""
        legacy = {}
        for name in self.src_model.state_dict():
            key = legacy_ema_key(name)
            if key in state_dict:
                legacy[name] = state_dict.pop(key)
        return legacy


@HOOKS.register_module()
class ExpMomentumEMAHook(BaseEMAHook):
    """mmdetection 2.x's ExpMomentumEMAHook (YOLOX): ``total_iter`` is the decay length."""

    def __init__(self, total_iter: int = 2000, **kwargs) -> None:
        super().__init__(ema_type='ExpMomentumEMA', gamma=total_iter, **kwargs)


@HOOKS.register_module()
class LinearMomentumEMAHook(BaseEMAHook):
    """mmdetection 2.x's LinearMomentumEMAHook: ``warm_up`` iterations of smaller momentum."""

    def __init__(self, warm_up: int = 100, **kwargs) -> None:
        super().__init__(ema_type='LinearMomentumEMA', gamma=warm_up, **kwargs)
