"""The learning-rate schedule of mmcv 1.x (``lr_config``), as an mmengine hook.

mmengine's stock schedulers chain warmup and the main policy one after the other; mmcv 1.x
multiplied the warmup factor onto the regular learning rate of the current iteration/epoch. This
hook implements mmcv 1.x's formulas directly so that every iteration's learning rate equals what
an mmdetection 2.x run would have used:

* regular lr (``base`` = a param group's initial lr; ``progress`` = epoch or iteration):
  ``step``: ``base * gamma ** (number of steps passed)`` floored at ``min_lr``;
  ``CosineAnnealing``: ``target + 0.5 * (base - target) * (1 + cos(pi * progress / max))``
  with ``target = min_lr`` or ``base * min_lr_ratio``;
  ``Poly``: ``(base - min_lr) * (1 - progress / max) ** power + min_lr``; ``fixed``: ``base``.
* warmup on top while ``iter < warmup_iters``: ``linear``: ``regular * (1 - k)`` with
  ``k = (1 - iter / warmup_iters) * (1 - warmup_ratio)``; ``constant``: ``regular *
  warmup_ratio``; ``exp``: ``regular * warmup_ratio ** (1 - iter / warmup_iters)``.
* ``by_epoch=True``: the regular lr changes only at epoch boundaries.
"""
from math import cos, pi
from typing import List, Optional, Sequence, Union

from mmengine.hooks import Hook

from ..registry import HOOKS

POLICIES = ('step', 'cosineannealing', 'poly', 'fixed')
WARMUPS = (None, 'linear', 'constant', 'exp')


@HOOKS.register_module()
class LrUpdaterHook(Hook):
    """Set each param group's lr before every epoch/iteration, as mmcv 1.x's LrUpdaterHook.

    Args:
        policy: 'step', 'CosineAnnealing', 'Poly' or 'fixed' (case-insensitive).
        by_epoch: the regular lr changes per epoch (True) or per iteration (False).
        warmup: None, 'linear', 'constant' or 'exp'.
        warmup_iters: warmup length, in iterations (or epochs if ``warmup_by_epoch``).
        warmup_ratio: lr factor at the first warmup iteration, in (0, 1].
        warmup_by_epoch: ``warmup_iters`` counts epochs.
        step: for 'step', the epochs/iterations at which lr decays (int = every ``step``).
        gamma: for 'step', the decay factor.
        min_lr: floor for 'step', target for 'CosineAnnealing' and 'Poly'.
        min_lr_ratio: for 'CosineAnnealing', the target as a fraction of the initial lr.
        power: for 'Poly'.
    """

    # before mmengine's RuntimeInfoHook (VERY_HIGH) so the logged lr is this iteration's
    priority = 'HIGHEST'

    def __init__(self, policy: str = 'fixed', by_epoch: bool = True,
                 warmup: Optional[str] = None, warmup_iters: int = 0,
                 warmup_ratio: float = 0.1, warmup_by_epoch: bool = False,
                 step: Union[int, Sequence[int], None] = None, gamma: float = 0.1,
                 min_lr: Optional[float] = None, min_lr_ratio: Optional[float] = None,
                 power: float = 1.0) -> None:
        self.policy = policy.lower()
        if self.policy not in POLICIES:
            raise ValueError(f'lr_config.policy={policy!r} is not supported; use one of '
                             "'step', 'CosineAnnealing', 'Poly', 'fixed'")
        if warmup not in WARMUPS:
            raise ValueError(f'lr_config.warmup={warmup!r} is not supported; use one of '
                             f'{list(WARMUPS)}')
        if warmup is not None:
            if not warmup_iters > 0:
                raise ValueError(f'lr_config.warmup_iters must be > 0 with warmup={warmup!r}, '
                                 f'got {warmup_iters}')
            if not 0 < warmup_ratio <= 1.0:
                raise ValueError(f'lr_config.warmup_ratio must be in (0, 1], got {warmup_ratio}')
        if self.policy == 'step':
            if step is None:
                raise ValueError("lr_config.step is required with policy='step', "
                                 'e.g. step=[8, 11]')
            steps = [step] if isinstance(step, int) else list(step)
            if any(s <= 0 for s in steps):
                raise ValueError(f'lr_config.step values must be positive, got {step}')
        if self.policy == 'cosineannealing' and (min_lr is None) == (min_lr_ratio is None):
            raise ValueError("policy='CosineAnnealing' needs exactly one of min_lr and "
                             f'min_lr_ratio, got min_lr={min_lr}, min_lr_ratio={min_lr_ratio}')
        self.by_epoch = by_epoch
        self.warmup = warmup
        self.warmup_ratio = warmup_ratio
        self.warmup_by_epoch = warmup_by_epoch
        self.warmup_epochs = warmup_iters if warmup_by_epoch else None
        self.warmup_iters: Optional[int] = None if warmup_by_epoch else warmup_iters
        self.step = step
        self.gamma = gamma
        self.min_lr = (0.0 if min_lr is None else min_lr) if self.policy == 'poly' else min_lr
        self.min_lr_ratio = min_lr_ratio
        self.power = power
        self.base_lr: List[float] = []
        self.regular_lr: List[float] = []

    # ----------------------------------------------------------------- formulas
    def get_lr(self, progress: int, max_progress: int, base_lr: float) -> float:
        """The regular (no-warmup) lr at ``progress`` out of ``max_progress``."""
        if self.policy == 'fixed':
            return base_lr
        if self.policy == 'step':
            if isinstance(self.step, int):
                exp = progress // self.step
            else:
                exp = sum(1 for s in self.step if progress >= s)
            lr = base_lr * self.gamma**exp
            return lr if self.min_lr is None else max(lr, self.min_lr)
        if self.policy == 'cosineannealing':
            target = base_lr * self.min_lr_ratio if self.min_lr_ratio is not None else self.min_lr
            return target + 0.5 * (base_lr - target) * (cos(pi * progress / max_progress) + 1)
        coeff = (1 - progress / max_progress)**self.power
        return (base_lr - self.min_lr) * coeff + self.min_lr

    def get_warmup_lr(self, cur_iter: int, regular_lr: List[float]) -> List[float]:
        if self.warmup == 'constant':
            return [lr * self.warmup_ratio for lr in regular_lr]
        if self.warmup == 'linear':
            k = (1 - cur_iter / self.warmup_iters) * (1 - self.warmup_ratio)
            return [lr * (1 - k) for lr in regular_lr]
        k = self.warmup_ratio**(1 - cur_iter / self.warmup_iters)
        return [lr * k for lr in regular_lr]

    # ----------------------------------------------------------------- runner glue
    @staticmethod
    def _param_groups(runner) -> list:
        return runner.optim_wrapper.optimizer.param_groups

    def _regular_lr(self, runner) -> List[float]:
        if self.by_epoch:
            progress, max_progress = runner.epoch, runner.max_epochs
        else:
            progress, max_progress = runner.iter, runner.max_iters
        return [self.get_lr(progress, max_progress, base) for base in self.base_lr]

    def _set_lr(self, runner, lrs: List[float]) -> None:
        for group, lr in zip(self._param_groups(runner), lrs):
            group['lr'] = lr

    def before_train(self, runner) -> None:
        # ``initial_lr`` is saved with the optimizer state, so a resumed run keeps the base lr
        for group in self._param_groups(runner):
            group.setdefault('initial_lr', group['lr'])
        self.base_lr = [group['initial_lr'] for group in self._param_groups(runner)]

    def before_train_epoch(self, runner) -> None:
        if self.warmup_by_epoch:
            self.warmup_iters = self.warmup_epochs * len(runner.train_dataloader)
        if self.by_epoch:
            self.regular_lr = self._regular_lr(runner)
            self._set_lr(runner, self.regular_lr)

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        cur_iter = runner.iter
        if not self.by_epoch:
            self.regular_lr = self._regular_lr(runner)
        elif not self.regular_lr:  # iteration-based loop with by_epoch=True: epoch stays 0
            self.regular_lr = self._regular_lr(runner)
        if self.warmup is None or cur_iter >= self.warmup_iters:
            self._set_lr(runner, self.regular_lr)
        else:
            self._set_lr(runner, self.get_warmup_lr(cur_iter, self.regular_lr))
