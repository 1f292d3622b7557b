"""The momentum policies of mmcv 1.x (``momentum_config``), as mmengine hooks.

A 2.x ``momentum_config=dict(policy='X', ...)`` becomes ``XMomentumUpdaterHook`` (the rule of
``lr_config``). The momentum of a param group is its ``momentum`` (SGD) or ``betas[0]`` (Adam).
``base`` is a group's initial momentum, ``progress``/``max`` as in ``lr_updater_hook``:

* ``Step``: ``base * gamma ** (number of steps passed)``, floored at ``min_momentum``;
* ``CosineAnnealing`` / ``LinearAnnealing``: from ``base`` to ``min_momentum`` (or ``base *
  min_momentum_ratio``) over the run;
* ``Cyclic`` (iteration-based; pairs with ``lr_config`` ``cyclic``): per cycle from ``base``
  to ``base * target_ratio[0]`` then to ``base * target_ratio[1]``;
* ``OneCycle`` (iteration-based; pairs with ``OneCycle`` lr): from ``max_momentum`` down to
  ``base_momentum`` over ``pct_start`` of the run, then back up.

Warmup (``iter < warmup_iters``) divides where the lr warmup multiplies: ``linear``:
``regular / (1 - (1 - iter / warmup_iters) * (1 - warmup_ratio))``; ``constant``:
``regular / warmup_ratio``; ``exp``: ``regular / warmup_ratio ** (1 - iter / warmup_iters)``.
"""
from typing import Dict, List, Optional, Tuple, Union

from mmengine.hooks import Hook

from ..registry import HOOKS
from .lr_updater_hook import (WARMUPS, anneal_function, annealing_cos, annealing_linear,
                              check_step, check_target, cyclic_phases, cyclic_value,
                              one_cycle_value, per_group, progress_of, steps_passed, two_ratios)


def group_momentum(group: dict) -> float:
    """The momentum of a param group: ``momentum`` or ``betas[0]``."""
    if 'momentum' in group:
        return group['momentum']
    if 'betas' in group:
        return group['betas'][0]
    raise ValueError('momentum_config needs an optimizer with momentum (SGD) or betas (Adam); '
                     f'the param group has neither (keys: {sorted(group)})')


def set_group_momentum(group: dict, momentum: float) -> None:
    if 'momentum' in group:
        group['momentum'] = momentum
    elif 'betas' in group:
        group['betas'] = (momentum, group['betas'][1])


class MomentumUpdaterHook(Hook):
    """Set each param group's momentum before every epoch/iteration, as mmcv 1.x's
    MomentumUpdaterHook. Subclasses give ``get_momentum(runner, base_momentum)``.

    Args:
        by_epoch: the momentum changes per epoch (True) or per iteration (False).
        warmup: None, 'linear', 'constant' or 'exp'.
        warmup_iters: warmup length in iterations.
        warmup_ratio: in (0, 1]; the warmup momentum is the regular one divided by it.
    """

    priority = 'HIGHEST'

    def __init__(self, by_epoch: bool = True, warmup: Optional[str] = None,
                 warmup_iters: int = 0, warmup_ratio: float = 0.9) -> None:
        if warmup not in WARMUPS:
            raise ValueError(f'momentum_config.warmup={warmup!r} is not supported; use one of '
                             f'{list(WARMUPS)}')
        if warmup is not None:
            if not warmup_iters > 0:
                raise ValueError('momentum_config.warmup_iters must be > 0 with '
                                 f'warmup={warmup!r}, got {warmup_iters}')
            if not 0 < warmup_ratio <= 1.0:
                raise ValueError('momentum_config.warmup_ratio must be in (0, 1], got '
                                 f'{warmup_ratio}')
        self.by_epoch = by_epoch
        self.warmup = warmup
        self.warmup_iters = warmup_iters
        self.warmup_ratio = warmup_ratio
        self.base_momentum: List[float] = []
        self.regular_momentum: List[float] = []

    def get_momentum(self, runner, base_momentum) -> float:
        raise NotImplementedError

    def get_regular_momentum(self, runner) -> List[float]:
        return [self.get_momentum(runner, base) for base in self.base_momentum]

    def get_warmup_momentum(self, cur_iters: int) -> List[float]:
        if self.warmup == 'constant':
            return [m / self.warmup_ratio for m in self.regular_momentum]
        if self.warmup == 'linear':
            k = (1 - cur_iters / self.warmup_iters) * (1 - self.warmup_ratio)
            return [m / (1 - k) for m in self.regular_momentum]
        k = self.warmup_ratio**(1 - cur_iters / self.warmup_iters)
        return [m / k for m in self.regular_momentum]

    @staticmethod
    def param_groups(runner) -> list:
        return runner.optim_wrapper.optimizer.param_groups

    def _set_momentum(self, runner, momenta: List[float]) -> None:
        for group, momentum in zip(self.param_groups(runner), momenta):
            set_group_momentum(group, momentum)

    def before_train(self, runner) -> None:
        # ``initial_momentum`` is saved with the optimizer state (resume keeps the base)
        for group in self.param_groups(runner):
            group.setdefault('initial_momentum', group_momentum(group))
        self.base_momentum = [g['initial_momentum'] for g in self.param_groups(runner)]

    def before_train_epoch(self, runner) -> None:
        if self.by_epoch:
            self.regular_momentum = self.get_regular_momentum(runner)
            self._set_momentum(runner, self.regular_momentum)

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        cur_iter = runner.iter
        if not self.by_epoch or not self.regular_momentum:
            self.regular_momentum = self.get_regular_momentum(runner)
        if self.warmup is None or cur_iter >= self.warmup_iters:
            self._set_momentum(runner, self.regular_momentum)
        else:
            self._set_momentum(runner, self.get_warmup_momentum(cur_iter))


@HOOKS.register_module()
class StepMomentumUpdaterHook(MomentumUpdaterHook):
    """``policy='step'``: multiply by ``gamma`` at each of ``step``, floored at
    ``min_momentum``."""

    def __init__(self, step: Union[int, List[int], None] = None, gamma: float = 0.5,
                 min_momentum: Optional[float] = None, **kwargs) -> None:
        check_step(step, 'momentum_config')
        self.step = step
        self.gamma = gamma
        self.min_momentum = min_momentum
        super().__init__(**kwargs)

    def get_momentum(self, runner, base_momentum: float) -> float:
        progress = runner.epoch if self.by_epoch else runner.iter
        momentum = base_momentum * self.gamma**steps_passed(self.step, progress)
        return momentum if self.min_momentum is None else max(momentum, self.min_momentum)


class _AnnealingMomentum(MomentumUpdaterHook):
    annealer = staticmethod(annealing_cos)
    policy = ''

    def __init__(self, min_momentum: Optional[float] = None,
                 min_momentum_ratio: Optional[float] = None, **kwargs) -> None:
        check_target(f"momentum_config (policy='{self.policy}')", min_momentum,
                     min_momentum_ratio, ('min_momentum', 'min_momentum_ratio'))
        self.min_momentum = min_momentum
        self.min_momentum_ratio = min_momentum_ratio
        super().__init__(**kwargs)

    def get_momentum(self, runner, base_momentum: float) -> float:
        progress, max_progress = progress_of(self, runner)
        target = (base_momentum * self.min_momentum_ratio
                  if self.min_momentum_ratio is not None else self.min_momentum)
        return self.annealer(base_momentum, target, progress / max_progress)


@HOOKS.register_module()
class CosineAnnealingMomentumUpdaterHook(_AnnealingMomentum):
    """``policy='CosineAnnealing'``: cosine from the initial momentum to the target."""

    annealer = staticmethod(annealing_cos)
    policy = 'CosineAnnealing'


@HOOKS.register_module()
class LinearAnnealingMomentumUpdaterHook(_AnnealingMomentum):
    """``policy='LinearAnnealing'``: straight line from the initial momentum to the target."""

    annealer = staticmethod(annealing_linear)
    policy = 'LinearAnnealing'


@HOOKS.register_module()
class CyclicMomentumUpdaterHook(MomentumUpdaterHook):
    """``policy='cyclic'`` (iteration-based): the cycles of ``CyclicLrUpdaterHook`` applied to
    the momentum, by default down to ``0.85 / 0.95`` of it and back."""

    def __init__(self, by_epoch: bool = False,
                 target_ratio: Tuple[float, float] = (0.85 / 0.95, 1.), cyclic_times: int = 1,
                 step_ratio_up: float = 0.4, anneal_strategy: str = 'cos', gamma: float = 1.,
                 **kwargs) -> None:
        if by_epoch:
            raise ValueError("momentum_config: policy='cyclic' supports by_epoch=False only")
        self.target_ratio = two_ratios(target_ratio, 'momentum_config')
        if not 0 <= step_ratio_up < 1.0:
            raise ValueError('momentum_config.step_ratio_up must be in [0, 1), got '
                             f'{step_ratio_up}')
        self.cyclic_times = cyclic_times
        self.step_ratio_up = step_ratio_up
        self.gamma = gamma
        self.anneal_func = anneal_function(anneal_strategy, 'momentum_config')
        self.max_iter_per_phase: Optional[int] = None
        self.momentum_phases: list = []
        super().__init__(by_epoch, **kwargs)

    def before_train(self, runner) -> None:
        super().before_train(runner)
        self.max_iter_per_phase, self.momentum_phases = cyclic_phases(
            runner.max_iters, self.cyclic_times, self.step_ratio_up, self.target_ratio)

    def get_momentum(self, runner, base_momentum: float) -> float:
        return cyclic_value(base_momentum, runner.iter, self.max_iter_per_phase,
                            self.momentum_phases, self.gamma, self.anneal_func)


@HOOKS.register_module()
class OneCycleMomentumUpdaterHook(MomentumUpdaterHook):
    """``policy='OneCycle'`` (iteration-based): ``max_momentum`` → ``base_momentum`` over the
    first ``pct_start`` of the run, then back to ``max_momentum`` (``three_phase``: as the lr's
    three phases). ``base_momentum``/``max_momentum`` are stored in each param group."""

    def __init__(self, base_momentum: Union[float, List[float]] = 0.85,
                 max_momentum: Union[float, List[float]] = 0.95, pct_start: float = 0.3,
                 anneal_strategy: str = 'cos', three_phase: bool = False, **kwargs) -> None:
        if kwargs.setdefault('by_epoch', False):
            raise ValueError("momentum_config: policy='OneCycle' supports by_epoch=False only")
        for name, value in (('base_momentum', base_momentum), ('max_momentum', max_momentum)):
            if not isinstance(value, (float, list, tuple)):
                raise TypeError(f'momentum_config.{name} must be a float or a list (one per '
                                f'param group), got {value!r}')
        if not isinstance(pct_start, float) or not 0 <= pct_start <= 1:
            raise ValueError('momentum_config.pct_start must be a float in [0, 1], got '
                             f'{pct_start!r}')
        self._base_momentum = base_momentum
        self._max_momentum = max_momentum
        self.pct_start = pct_start
        self.anneal_func = anneal_function(anneal_strategy, 'momentum_config')
        self.three_phase = three_phase
        self.momentum_phases: List[list] = []
        super().__init__(**kwargs)

    def before_train(self, runner) -> None:
        groups = self.param_groups(runner)
        bases = per_group(self._base_momentum, groups, 'momentum_config.base_momentum')
        maxes = per_group(self._max_momentum, groups, 'momentum_config.max_momentum')
        for group, base, top in zip(groups, bases, maxes):
            group_momentum(group)  # an optimizer without momentum is an error here
            set_group_momentum(group, top)
            group['base_momentum'] = base
            group['max_momentum'] = top
        total = runner.max_iters
        up_end = float(self.pct_start * total) - 1
        if self.three_phase:
            self.momentum_phases = [[up_end, 'max_momentum', 'base_momentum'],
                                    [float(2 * self.pct_start * total) - 2, 'base_momentum',
                                     'max_momentum'],
                                    [total - 1, 'max_momentum', 'max_momentum']]
        else:
            self.momentum_phases = [[up_end, 'max_momentum', 'base_momentum'],
                                    [total - 1, 'base_momentum', 'max_momentum']]

    def get_regular_momentum(self, runner) -> List[float]:
        return [one_cycle_value(runner.iter, self.momentum_phases, group.__getitem__,
                                group.__getitem__, self.anneal_func, clamp_last=True)
                for group in self.param_groups(runner)]


MOMENTUM_POLICIES: Dict[str, type] = {
    cls.__name__[:-len('MomentumUpdaterHook')]: cls
    for cls in (StepMomentumUpdaterHook, CosineAnnealingMomentumUpdaterHook,
                LinearAnnealingMomentumUpdaterHook, CyclicMomentumUpdaterHook,
                OneCycleMomentumUpdaterHook)}
