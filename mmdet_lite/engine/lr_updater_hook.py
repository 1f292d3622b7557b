"""The learning-rate policies of mmcv 1.x (``lr_config``), as mmengine hooks.

mmengine's stock schedulers chain warmup and the main policy one after the other; mmcv 1.x
multiplied the warmup factor onto the regular learning rate of the current iteration/epoch. These
hooks implement mmcv 1.x's formulas directly so that every iteration's learning rate equals what
an mmdetection 2.x run would have used. ``base`` is a param group's initial lr, ``progress`` the
epoch (``by_epoch=True``) or iteration, ``max`` the number of epochs or iterations:

* ``Fixed``: ``base``; ``Step``: ``base * gamma ** (number of steps passed)``, floored at
  ``min_lr``; ``Exp``: ``base * gamma ** progress``; ``Inv``: ``base * (1 + gamma *
  progress) ** -power``; ``Poly``: ``(base - min_lr) * (1 - progress / max) ** power + min_lr``;
* ``CosineAnnealing``: ``cos_anneal(base, target, progress / max)`` with ``target = min_lr``
  or ``base * min_lr_ratio`` and ``cos_anneal(a, b, f, w=1) = b + w (a - b) (1 + cos(pi f)) /
  2``; ``LinearAnnealing``: ``a + (b - a) f``; ``FlatCosineAnnealing``: ``base`` until
  ``round(max * start_percent)``, then cosine over the rest; ``CosineRestart``: cosine within
  each of ``periods``, restarted at ``restart_weights`` times the amplitude;
* ``Cyclic`` and ``OneCycle`` (iteration-based only): the phases of mmcv 1.x (see the classes);
* ``YOLOX`` (mmdetection 2.x): fixed ``target`` for the last ``num_last_epochs`` epochs, cosine
  from ``base`` before, and its own warmup ``base * warmup_ratio * ((iter + 1) / warmup_iters)
  ** 2``.

Warmup, while ``iter < warmup_iters`` (``warmup_by_epoch``: ``warmup_iters`` counts epochs):
``linear``: ``regular * (1 - (1 - iter / warmup_iters) * (1 - warmup_ratio))``; ``constant``:
``regular * warmup_ratio``; ``exp``: ``regular * warmup_ratio ** (1 - iter / warmup_iters)``.
With ``by_epoch=True`` the regular lr changes only at epoch boundaries.

A 2.x ``lr_config=dict(policy='X', ...)`` becomes the hook ``XLrUpdaterHook`` (mmcv 1.x's rule:
an all-lowercase policy is title-cased; ``schedules.lr_hook``).
"""
import numbers
from math import cos, pi
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

from mmengine.hooks import Hook

from ..registry import HOOKS

WARMUPS = (None, 'linear', 'constant', 'exp')


def annealing_cos(start: float, end: float, factor: float, weight: float = 1.0) -> float:
    """Cosine from ``weight * start + (1 - weight) * end`` (factor 0) to ``end`` (factor 1)."""
    return end + 0.5 * weight * (start - end) * (cos(pi * factor) + 1)


def annealing_linear(start: float, end: float, factor: float) -> float:
    """Straight line from ``start`` (factor 0) to ``end`` (factor 1)."""
    return start + (end - start) * factor


def anneal_function(anneal_strategy: str, section: str) -> Callable[[float, float, float], float]:
    """``annealing_cos`` for 'cos', ``annealing_linear`` for 'linear'."""
    if anneal_strategy == 'cos':
        return annealing_cos
    if anneal_strategy == 'linear':
        return annealing_linear
    raise ValueError(f"{section}.anneal_strategy must be 'cos' or 'linear', got "
                     f'{anneal_strategy!r}')


def per_group(value: Union[float, Sequence[float]], groups: list, name: str) -> List[float]:
    """One value per param group: a number is repeated, a list must have one per group."""
    if isinstance(value, numbers.Number):
        return [float(value)] * len(groups)
    if isinstance(value, (list, tuple)):
        if len(value) != len(groups):
            raise ValueError(f'{name} has {len(value)} values but the optimizer has '
                             f'{len(groups)} param groups; give one value or one per group')
        return list(value)
    raise TypeError(f'{name} must be a number or a list with one value per param group, '
                    f'got {value!r}')


def check_target(section: str, min_value: Optional[float], min_ratio: Optional[float],
                 names: Tuple[str, str] = ('min_lr', 'min_lr_ratio')) -> None:
    if (min_value is None) == (min_ratio is None):
        raise ValueError(f'{section} needs exactly one of {names[0]} and {names[1]}, got '
                         f'{names[0]}={min_value}, {names[1]}={min_ratio}')


def progress_of(hook, runner) -> Tuple[int, int]:
    """(epoch, max_epochs) for a ``by_epoch`` hook, else (iter, max_iters)."""
    if hook.by_epoch:
        return runner.epoch, runner.max_epochs
    return runner.iter, runner.max_iters


def check_step(step: Union[int, Sequence[int], None], section: str) -> None:
    if step is None:
        raise ValueError(f"{section}.step is required with policy='step', e.g. step=[8, 11]")
    if isinstance(step, bool) or not isinstance(step, (int, list, tuple)):
        raise TypeError(f'{section}.step must be an int or a list of ints, got {step!r}')
    steps = [step] if isinstance(step, int) else list(step)
    if any(not isinstance(s, int) or s <= 0 for s in steps):
        raise ValueError(f'{section}.step values must be positive ints, got {step}')


def steps_passed(step: Union[int, Sequence[int]], progress: int) -> int:
    """How many decays a step schedule has made at ``progress``."""
    if isinstance(step, int):
        return progress // step
    return sum(1 for s in step if progress >= s)


class LrUpdaterHook(Hook):
    """Set each param group's lr before every epoch/iteration, as mmcv 1.x's LrUpdaterHook.

    Subclasses give the regular lr with ``get_lr(runner, base_lr)`` (mmcv 1.x's signature; the
    runner's ``epoch``, ``iter``, ``max_epochs``, ``max_iters`` are mmengine's).

    Args:
        by_epoch: the regular lr changes per epoch (True) or per iteration (False).
        warmup: None, 'linear', 'constant' or 'exp'.
        warmup_iters: warmup length, in iterations (or epochs if ``warmup_by_epoch``).
        warmup_ratio: lr factor at the first warmup iteration, in (0, 1].
        warmup_by_epoch: ``warmup_iters`` counts epochs.
    """

    # before mmengine's RuntimeInfoHook (VERY_HIGH) so the logged lr is this iteration's
    priority = 'HIGHEST'

    def __init__(self, by_epoch: bool = True, warmup: Optional[str] = None,
                 warmup_iters: int = 0, warmup_ratio: float = 0.1,
                 warmup_by_epoch: bool = False) -> None:
        if warmup not in WARMUPS:
            raise ValueError(f'lr_config.warmup={warmup!r} is not supported; use one of '
                             f'{list(WARMUPS)}')
        if warmup is not None:
            if not warmup_iters > 0:
                raise ValueError(f'lr_config.warmup_iters must be > 0 with warmup={warmup!r}, '
                                 f'got {warmup_iters}')
            if not 0 < warmup_ratio <= 1.0:
                raise ValueError(f'lr_config.warmup_ratio must be in (0, 1], got {warmup_ratio}')
        self.by_epoch = by_epoch
        self.warmup = warmup
        self.warmup_ratio = warmup_ratio
        self.warmup_by_epoch = warmup_by_epoch
        self.warmup_epochs: Optional[int] = warmup_iters if warmup_by_epoch else None
        self.warmup_iters: Optional[int] = None if warmup_by_epoch else warmup_iters
        self.base_lr: List[float] = []  # the initial lr of every param group
        self.regular_lr: List[float] = []  # the lr without warmup

    def get_lr(self, runner, base_lr: float) -> float:
        raise NotImplementedError

    def get_regular_lr(self, runner) -> List[float]:
        return [self.get_lr(runner, base) for base in self.base_lr]

    def get_warmup_lr(self, cur_iters: int) -> List[float]:
        if self.warmup == 'constant':
            return [lr * self.warmup_ratio for lr in self.regular_lr]
        if self.warmup == 'linear':
            k = (1 - cur_iters / self.warmup_iters) * (1 - self.warmup_ratio)
            return [lr * (1 - k) for lr in self.regular_lr]
        k = self.warmup_ratio**(1 - cur_iters / self.warmup_iters)
        return [lr * k for lr in self.regular_lr]

    # ----------------------------------------------------------------- runner glue
    @staticmethod
    def param_groups(runner) -> list:
        return runner.optim_wrapper.optimizer.param_groups

    def _set_lr(self, runner, lrs: List[float]) -> None:
        for group, lr in zip(self.param_groups(runner), lrs):
            group['lr'] = lr

    def before_train(self, runner) -> None:
        # ``initial_lr`` is saved with the optimizer state, so a resumed run keeps the base lr
        for group in self.param_groups(runner):
            group.setdefault('initial_lr', group['lr'])
        self.base_lr = [group['initial_lr'] for group in self.param_groups(runner)]

    def before_train_epoch(self, runner) -> None:
        if self.warmup_iters is None:
            self.warmup_iters = self.warmup_epochs * len(runner.train_dataloader)
        if self.by_epoch:
            self.regular_lr = self.get_regular_lr(runner)
            self._set_lr(runner, self.regular_lr)

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        cur_iter = runner.iter
        if not self.by_epoch or not self.regular_lr:
            # (an iteration-based loop with by_epoch=True runs with epoch 0's lr)
            self.regular_lr = self.get_regular_lr(runner)
        if self.warmup is None or cur_iter >= self.warmup_iters:
            self._set_lr(runner, self.regular_lr)
        else:
            self._set_lr(runner, self.get_warmup_lr(cur_iter))


@HOOKS.register_module()
class FixedLrUpdaterHook(LrUpdaterHook):
    """``policy='fixed'``: the initial lr (with warmup if set)."""

    def get_lr(self, runner, base_lr: float) -> float:
        return base_lr


@HOOKS.register_module()
class StepLrUpdaterHook(LrUpdaterHook):
    """``policy='step'``: multiply by ``gamma`` at each of ``step`` (an int: every ``step``),
    never below ``min_lr``."""

    def __init__(self, step: Union[int, List[int], None] = None, gamma: float = 0.1,
                 min_lr: Optional[float] = None, **kwargs) -> None:
        check_step(step, 'lr_config')
        self.step = step
        self.gamma = gamma
        self.min_lr = min_lr
        super().__init__(**kwargs)

    def get_lr(self, runner, base_lr: float) -> float:
        progress = runner.epoch if self.by_epoch else runner.iter
        lr = base_lr * self.gamma**steps_passed(self.step, progress)
        return lr if self.min_lr is None else max(lr, self.min_lr)


@HOOKS.register_module()
class ExpLrUpdaterHook(LrUpdaterHook):
    """``policy='exp'``: ``base * gamma ** progress``."""

    def __init__(self, gamma: float, **kwargs) -> None:
        self.gamma = gamma
        super().__init__(**kwargs)

    def get_lr(self, runner, base_lr: float) -> float:
        progress = runner.epoch if self.by_epoch else runner.iter
        return base_lr * self.gamma**progress


@HOOKS.register_module()
class PolyLrUpdaterHook(LrUpdaterHook):
    """``policy='poly'``: ``(base - min_lr) * (1 - progress / max) ** power + min_lr``."""

    def __init__(self, power: float = 1., min_lr: float = 0., **kwargs) -> None:
        self.power = power
        self.min_lr = min_lr
        super().__init__(**kwargs)

    def get_lr(self, runner, base_lr: float) -> float:
        progress, max_progress = progress_of(self, runner)
        coeff = (1 - progress / max_progress)**self.power
        return (base_lr - self.min_lr) * coeff + self.min_lr


@HOOKS.register_module()
class InvLrUpdaterHook(LrUpdaterHook):
    """``policy='inv'``: ``base * (1 + gamma * progress) ** -power``."""

    def __init__(self, gamma: float, power: float = 1., **kwargs) -> None:
        self.gamma = gamma
        self.power = power
        super().__init__(**kwargs)

    def get_lr(self, runner, base_lr: float) -> float:
        progress = runner.epoch if self.by_epoch else runner.iter
        return base_lr * (1 + self.gamma * progress)**(-self.power)


class _TargetLrMixin:
    """``min_lr`` or ``min_lr_ratio`` (exactly one) → the target lr of a param group."""

    min_lr: Optional[float]
    min_lr_ratio: Optional[float]

    def target_lr(self, base_lr: float) -> float:
        return base_lr * self.min_lr_ratio if self.min_lr_ratio is not None else self.min_lr


@HOOKS.register_module()
class CosineAnnealingLrUpdaterHook(_TargetLrMixin, LrUpdaterHook):
    """``policy='CosineAnnealing'``: cosine from ``base`` to ``min_lr`` (or ``base *
    min_lr_ratio``) over the whole run."""

    def __init__(self, min_lr: Optional[float] = None, min_lr_ratio: Optional[float] = None,
                 **kwargs) -> None:
        check_target("lr_config (policy='CosineAnnealing')", min_lr, min_lr_ratio)
        self.min_lr = min_lr
        self.min_lr_ratio = min_lr_ratio
        super().__init__(**kwargs)

    def get_lr(self, runner, base_lr: float) -> float:
        progress, max_progress = progress_of(self, runner)
        return annealing_cos(base_lr, self.target_lr(base_lr), progress / max_progress)


@HOOKS.register_module()
class LinearAnnealingLrUpdaterHook(_TargetLrMixin, LrUpdaterHook):
    """``policy='LinearAnnealing'``: straight line from ``base`` to the target."""

    def __init__(self, min_lr: Optional[float] = None, min_lr_ratio: Optional[float] = None,
                 **kwargs) -> None:
        check_target("lr_config (policy='LinearAnnealing')", min_lr, min_lr_ratio)
        self.min_lr = min_lr
        self.min_lr_ratio = min_lr_ratio
        super().__init__(**kwargs)

    def get_lr(self, runner, base_lr: float) -> float:
        progress, max_progress = progress_of(self, runner)
        return annealing_linear(base_lr, self.target_lr(base_lr), progress / max_progress)


@HOOKS.register_module()
class FlatCosineAnnealingLrUpdaterHook(_TargetLrMixin, LrUpdaterHook):
    """``policy='FlatCosineAnnealing'``: ``base`` until ``round(max * start_percent)``, then
    cosine to the target over the remaining epochs/iterations."""

    def __init__(self, start_percent: float = 0.75, min_lr: Optional[float] = None,
                 min_lr_ratio: Optional[float] = None, **kwargs) -> None:
        check_target("lr_config (policy='FlatCosineAnnealing')", min_lr, min_lr_ratio)
        if not isinstance(start_percent, float) or not 0 <= start_percent <= 1:
            raise ValueError('lr_config.start_percent must be a float in [0, 1], got '
                             f'{start_percent!r}')
        self.start_percent = start_percent
        self.min_lr = min_lr
        self.min_lr_ratio = min_lr_ratio
        super().__init__(**kwargs)

    def get_lr(self, runner, base_lr: float) -> float:
        progress, max_progress = progress_of(self, runner)
        start = round(max_progress * self.start_percent)
        if progress < start:
            return base_lr
        return annealing_cos(base_lr, self.target_lr(base_lr),
                             (progress - start) / (max_progress - start))


@HOOKS.register_module()
class CosineRestartLrUpdaterHook(_TargetLrMixin, LrUpdaterHook):
    """``policy='CosineRestart'``: cosine annealing within each of ``periods``
    (epochs/iterations); period ``i`` starts from ``restart_weights[i]`` of the amplitude."""

    def __init__(self, periods: Optional[List[int]] = None,
                 restart_weights: Sequence[float] = (1, ), min_lr: Optional[float] = None,
                 min_lr_ratio: Optional[float] = None, **kwargs) -> None:
        check_target("lr_config (policy='CosineRestart')", min_lr, min_lr_ratio)
        if not periods:
            raise ValueError("lr_config.periods is required with policy='CosineRestart', "
                             'e.g. periods=[6, 6] (epochs or iterations of each cycle)')
        if len(periods) != len(restart_weights):
            raise ValueError(f'lr_config.periods ({list(periods)}) and restart_weights '
                             f'({list(restart_weights)}) must have the same length')
        self.periods = list(periods)
        self.restart_weights = list(restart_weights)
        self.min_lr = min_lr
        self.min_lr_ratio = min_lr_ratio
        self.cumulative_periods = [sum(self.periods[:i + 1]) for i in range(len(self.periods))]
        super().__init__(**kwargs)

    def get_lr(self, runner, base_lr: float) -> float:
        progress = runner.epoch if self.by_epoch else runner.iter
        for idx, end in enumerate(self.cumulative_periods):
            if progress < end:
                break
        else:
            raise ValueError(f'lr_config (CosineRestart): progress {progress} is past the sum '
                             f'of periods {self.periods}; make the periods cover the run')
        start = 0 if idx == 0 else self.cumulative_periods[idx - 1]
        alpha = min((progress - start) / self.periods[idx], 1)
        return annealing_cos(base_lr, self.target_lr(base_lr), alpha, self.restart_weights[idx])


def two_ratios(target_ratio: Union[float, tuple], section: str) -> Tuple[float, float]:
    """mmcv 1.x's ``target_ratio``: a float r → (r, r / 1e5); a 1-tuple likewise."""
    if isinstance(target_ratio, float):
        return target_ratio, target_ratio / 1e5
    if isinstance(target_ratio, (tuple, list)):
        ratios = tuple(target_ratio)
        if len(ratios) == 1:
            return ratios[0], ratios[0] / 1e5
        if len(ratios) == 2:
            return ratios
    raise ValueError(f'{section}.target_ratio must be a float or a tuple of two floats, got '
                     f'{target_ratio!r}')


def cyclic_phases(max_iters: int, cyclic_times: int, step_ratio_up: float,
                  target_ratio: Tuple[float, float]) -> Tuple[int, list]:
    """mmcv 1.x's cyclic phases: (iterations per cycle, [[start, end, start_ratio,
    end_ratio], ...]) for the up and the down part of a cycle."""
    per_phase = max_iters // cyclic_times
    up = int(step_ratio_up * per_phase)
    return per_phase, [[0, up, 1, target_ratio[0]],
                       [up, per_phase, target_ratio[0], target_ratio[1]]]


def cyclic_value(base: float, cur_iter: int, per_phase: int, phases: list, gamma: float,
                 anneal: Callable[[float, float, float], float]) -> float:
    """The value of a cyclic schedule at ``cur_iter`` (mmcv 1.x's formula; ``gamma`` shrinks
    the amplitude of each later cycle)."""
    in_cycle, cycle = cur_iter % per_phase, cur_iter // per_phase
    scale = gamma**cycle
    for start, end, start_ratio, end_ratio in phases:
        if start <= in_cycle < end:
            if start == 0:
                end_ratio = 1 - scale + end_ratio * scale
            else:
                start_ratio = 1 - scale + start_ratio * scale
            return anneal(base * start_ratio, base * end_ratio,
                          (in_cycle - start) / (end - start))
    raise RuntimeError(f'cyclic schedule: iteration {cur_iter} is in no phase of {phases}')


@HOOKS.register_module()
class CyclicLrUpdaterHook(LrUpdaterHook):
    """``policy='cyclic'`` (iteration-based): ``cyclic_times`` cycles over the run; each goes
    from ``base`` up to ``base * target_ratio[0]`` during the first ``step_ratio_up`` of the
    cycle, then down to ``base * target_ratio[1]`` (cosine or linear); ``gamma`` < 1 shrinks
    later cycles."""

    def __init__(self, by_epoch: bool = False, target_ratio: Union[float, tuple] = (10, 1e-4),
                 cyclic_times: int = 1, step_ratio_up: float = 0.4,
                 anneal_strategy: str = 'cos', gamma: float = 1, **kwargs) -> None:
        if by_epoch:
            raise ValueError("lr_config: policy='cyclic' supports by_epoch=False only")
        self.target_ratio = two_ratios(target_ratio, 'lr_config')
        if not 0 <= step_ratio_up < 1.0:
            raise ValueError(f'lr_config.step_ratio_up must be in [0, 1), got {step_ratio_up}')
        if not 0 < gamma <= 1:
            raise ValueError(f'lr_config.gamma must be in (0, 1], got {gamma}')
        self.cyclic_times = cyclic_times
        self.step_ratio_up = step_ratio_up
        self.gamma = gamma
        self.anneal_func = anneal_function(anneal_strategy, 'lr_config')
        self.max_iter_per_phase: Optional[int] = None
        self.lr_phases: list = []
        super().__init__(by_epoch, **kwargs)

    def before_train(self, runner) -> None:
        super().before_train(runner)
        self.max_iter_per_phase, self.lr_phases = cyclic_phases(
            runner.max_iters, self.cyclic_times, self.step_ratio_up, self.target_ratio)

    def get_lr(self, runner, base_lr: float) -> float:
        return cyclic_value(base_lr, runner.iter, self.max_iter_per_phase, self.lr_phases,
                            self.gamma, self.anneal_func)


def one_cycle_value(cur_iter: int, phases: list, start_key, end_key,
                    anneal: Callable[[float, float, float], float],
                    clamp_last: bool = False) -> float:
    """The value of a one-cycle schedule at ``cur_iter``: ``phases`` are ``[end_iter, start,
    end]``; ``clamp_last`` (momentum) uses the last phase for iterations beyond it."""
    start_iter = 0
    for i, (end_iter, start, end) in enumerate(phases):
        if cur_iter <= end_iter or (clamp_last and i == len(phases) - 1):
            return anneal(start_key(start), end_key(end),
                          (cur_iter - start_iter) / (end_iter - start_iter))
        start_iter = end_iter
    raise ValueError(f'one-cycle schedule: iteration {cur_iter} is past its last phase '
                     f'{phases}')


@HOOKS.register_module()
class OneCycleLrUpdaterHook(LrUpdaterHook):
    """``policy='OneCycle'`` (iteration-based): from ``max_lr / div_factor`` up to ``max_lr``
    over the first ``pct_start`` of ``total_steps`` (default: the run's iterations), then down
    to ``max_lr / div_factor / final_div_factor``; ``three_phase`` comes back down to the start
    symmetrically before annihilating. The optimizer's own lr is not used."""

    def __init__(self, max_lr: Union[float, List[float]], total_steps: Optional[int] = None,
                 pct_start: float = 0.3, anneal_strategy: str = 'cos',
                 div_factor: float = 25, final_div_factor: float = 1e4,
                 three_phase: bool = False, **kwargs) -> None:
        if kwargs.setdefault('by_epoch', False):
            raise ValueError("lr_config: policy='OneCycle' supports by_epoch=False only")
        if not isinstance(max_lr, (numbers.Number, list, tuple)):
            raise TypeError(f'lr_config.max_lr must be a number or a list (one per param '
                            f'group), got {max_lr!r}')
        if total_steps is not None and not isinstance(total_steps, int):
            raise TypeError(f'lr_config.total_steps must be an int, got {total_steps!r}')
        if not isinstance(pct_start, float) or not 0 <= pct_start <= 1:
            raise ValueError(f'lr_config.pct_start must be a float in [0, 1], got {pct_start!r}')
        self._max_lr = max_lr
        self.total_steps = total_steps
        self.pct_start = pct_start
        self.anneal_func = anneal_function(anneal_strategy, 'lr_config')
        self.div_factor = div_factor
        self.final_div_factor = final_div_factor
        self.three_phase = three_phase
        self.lr_phases: list = []
        super().__init__(**kwargs)

    def before_train(self, runner) -> None:
        total = self.total_steps if self.total_steps is not None else runner.max_iters
        if total < runner.max_iters:
            raise ValueError(f'lr_config.total_steps={total} is less than the run\'s '
                             f'{runner.max_iters} iterations')
        groups = self.param_groups(runner)
        max_lrs = per_group(self._max_lr, groups, 'lr_config.max_lr')
        self.base_lr = [lr / self.div_factor for lr in max_lrs]
        for group, lr in zip(groups, self.base_lr):
            group.setdefault('initial_lr', lr)
        up_end = float(self.pct_start * total) - 1
        if self.three_phase:
            self.lr_phases = [[up_end, 1, self.div_factor],
                              [float(2 * self.pct_start * total) - 2, self.div_factor, 1],
                              [total - 1, 1, 1 / self.final_div_factor]]
        else:
            self.lr_phases = [[up_end, 1, self.div_factor],
                              [total - 1, self.div_factor, 1 / self.final_div_factor]]

    def get_lr(self, runner, base_lr: float) -> float:
        return one_cycle_value(runner.iter, self.lr_phases, lambda r: base_lr * r,
                               lambda r: base_lr * r, self.anneal_func)


@HOOKS.register_module()
class YOLOXLrUpdaterHook(CosineAnnealingLrUpdaterHook):
    """``policy='YOLOX'`` (mmdetection 2.x): as CosineAnnealing with ``progress + 1``, cosine
    between the warmup and the last ``num_last_epochs`` epochs, the target lr during those, and
    the warmup ``base * warmup_ratio * ((iter + 1) / warmup_iters) ** 2`` (of the initial lr,
    not the regular one)."""

    def __init__(self, num_last_epochs: int, **kwargs) -> None:
        self.num_last_epochs = num_last_epochs
        super().__init__(**kwargs)

    def get_warmup_lr(self, cur_iters: int) -> List[float]:
        k = self.warmup_ratio * pow((cur_iters + 1) / float(self.warmup_iters), 2)
        return [lr * k for lr in self.base_lr]

    def get_lr(self, runner, base_lr: float) -> float:
        # mmdetection 2.x counts the fixed tail in iterations even when by_epoch=True
        last_iter = len(runner.train_dataloader) * self.num_last_epochs
        progress, max_progress = progress_of(self, runner)
        progress += 1
        target = self.target_lr(base_lr)
        if progress >= max_progress - last_iter:
            return target
        cosine_len = max_progress - self.warmup_iters - last_iter
        if cosine_len <= 0:
            raise ValueError(f"lr_config (policy='YOLOX'): the warmup ({self.warmup_iters} "
                             f'iterations) and num_last_epochs={self.num_last_epochs} '
                             f'({last_iter} iterations) leave none of the {max_progress} '
                             'iterations for the cosine part; shorten them')
        return annealing_cos(base_lr, target, (progress - self.warmup_iters) / cosine_len)


LR_POLICIES: Dict[str, type] = {
    cls.__name__[:-len('LrUpdaterHook')]: cls
    for cls in (FixedLrUpdaterHook, StepLrUpdaterHook, ExpLrUpdaterHook, PolyLrUpdaterHook,
                InvLrUpdaterHook, CosineAnnealingLrUpdaterHook, LinearAnnealingLrUpdaterHook,
                FlatCosineAnnealingLrUpdaterHook, CosineRestartLrUpdaterHook,
                CyclicLrUpdaterHook, OneCycleLrUpdaterHook, YOLOXLrUpdaterHook)}
