"""The hook and logging keys of a 2.x config → mmengine: ``log_config`` and
``checkpoint_config`` → ``default_hooks`` and the visualizer's backends; ``custom_hooks`` plus
the LR/momentum hooks and the ('val', N) workflow's ``ValLossHook`` → ``custom_hooks``.

A ``custom_hooks`` entry keeps its 2.x type and arguments (the 2.x hooks are registered under
their names, docs/runtime_keys.md); arguments its hook does not take are an error naming them,
and the EMA hooks' ``resume_from`` becomes the run's (:func:`ema_resume_from`)."""
import warnings
from typing import Any, List, Optional

from mmengine.config import Config

from ..checkpoint import ATOMIC_BACKEND
from ..registry import HOOKS
from .runtime_keys import init_arguments, plain_copy, reject_extra_keys
from .schedules import is_epoch_based, lr_hook, momentum_hook

# 2.x logger hooks → the mmengine visualizer backend that replaces them (None: the text log)
EMA_HOOKS = ('ExpMomentumEMAHook', 'LinearMomentumEMAHook')
LOGGER_HOOKS = {'TextLoggerHook': None, 'TensorboardLoggerHook': 'TensorboardVisBackend',
                'WandbLoggerHook': 'WandbVisBackend', 'MlflowLoggerHook': 'MLflowVisBackend',
                'MMDetWandbHook': 'WandbVisBackend'}
# what mmdetection 2.x's MMDetWandbHook logs beyond the scalars of WandbLoggerHook
WANDB_EXTRAS = ('log_checkpoint', 'log_checkpoint_metadata', 'num_eval_images', 'bbox_score_thr')


def default_hooks(cfg: Config, save_best: Optional[dict]) -> dict:
    """mmengine's ``default_hooks`` from ``log_config`` and ``checkpoint_config``.

    ``save_best``: the CheckpointHook arguments of ``evaluation.save_best`` (or None).
    """
    log_config = plain_copy(cfg.get('log_config') or dict(interval=50, hooks=[]))
    interval = log_config.get('interval', 50)
    logger = dict(type='LoggerHook', interval=interval)
    for hook in log_config.get('hooks', []):
        hook = dict(hook)
        hook_type = hook.pop('type')
        if hook_type not in LOGGER_HOOKS:
            raise ValueError(f'log_config.hooks: {hook_type!r} is not supported; use '
                             f'{sorted(LOGGER_HOOKS)}')
        if hook_type == 'TextLoggerHook':
            for key in ('interval', 'ignore_last', 'out_dir', 'out_suffix', 'keep_local'):
                if key in hook:
                    logger[key] = hook.pop(key)
            for key in ('by_epoch', 'reset_flag', 'interval_exp_name'):
                hook.pop(key, None)  # the log processor follows the runner type instead
            reject_extra_keys('TextLoggerHook', hook, ())
    hooks = dict(timer=dict(type='IterTimerHook'), logger=logger, param_scheduler=None,
                 sampler_seed=dict(type='DistSamplerSeedHook'), checkpoint=None)
    if cfg.get('checkpoint_config') is not None:
        ckpt = plain_copy(cfg.checkpoint_config)
        ckpt.pop('meta', None)  # 2.x tools put CLASSES here; the runner stores them itself
        ckpt.pop('create_symlink', None)  # latest.pth is always made
        ckpt.setdefault('by_epoch', is_epoch_based(cfg))
        ckpt.update(save_best or {})
        hooks['checkpoint'] = dict(type='SafeCheckpointHook', backend_args=dict(
            backend=ATOMIC_BACKEND), **ckpt)
    return hooks


def visualizer(cfg: Config) -> dict:
    """The ``Visualizer`` with a local backend and one per logger hook of ``log_config``."""
    backends: List[dict] = [dict(type='LocalVisBackend')]
    for hook in (cfg.get('log_config') or {}).get('hooks', []):
        backend = LOGGER_HOOKS.get(hook['type'])
        if backend == 'TensorboardVisBackend':
            try:
                import tensorboard  # noqa: F401  (optional dependency: probe only)
            except ImportError:
                warnings.warn('log_config lists TensorboardLoggerHook but tensorboard is not '
                              'installed: pip install tensorboard; logging text/JSON only')
                continue
        if backend == 'WandbVisBackend':
            extras = sorted(k for k in WANDB_EXTRAS if hook.get(k))
            if extras:
                warnings.warn(f"log_config: {hook['type']} {extras} are not supported: wandb "
                              'gets the logged scalars only (no checkpoint artifacts or '
                              'prediction tables)')
            if hook.get('init_kwargs'):
                backends.append(dict(type=backend, init_kwargs=plain_copy(hook['init_kwargs'])))
                continue
        if backend is not None:
            backends.append(dict(type=backend))
    return dict(type='Visualizer', vis_backends=backends)


def custom_hooks(cfg: Config, val_loss_loader: Optional[dict], val_every: int) -> List[dict]:
    """``custom_hooks``, then the hooks of ``lr_config`` and ``momentum_config`` and the
    ('val', N) ValLossHook."""
    hooks: List[Any] = []
    for i, hook in enumerate(cfg.get('custom_hooks') or []):
        hook = plain_copy(hook)
        if not isinstance(hook, dict) or 'type' not in hook:
            raise KeyError(f'custom_hooks[{i}] must be a dict with a type, got {hook!r}')
        if hook['type'] in EMA_HOOKS:
            hook.pop('resume_from', None)
        hook_cls = HOOKS.get(hook['type']) if isinstance(hook['type'], str) else None
        allowed = init_arguments(hook_cls) if isinstance(hook_cls, type) else None
        if allowed is not None:
            reject_extra_keys(f"custom_hooks[{i}] (type={hook['type']!r})",
                              {k: v for k, v in hook.items() if k not in ('type', 'priority')},
                              allowed)
        hooks.append(hook)
    for schedule in (lr_hook(cfg), momentum_hook(cfg)):
        if schedule is not None:
            hooks.append(schedule)
    if val_loss_loader is not None:
        hooks.append(dict(type='ValLossHook', dataloader=val_loss_loader, interval=val_every))
    return hooks


def ema_resume_from(cfg: Config) -> Optional[str]:
    """The ``resume_from`` of an EMA hook in ``custom_hooks`` (2.x resumed the run from there
    once the EMA buffers existed), or None."""
    found = [h.get('resume_from') for h in cfg.get('custom_hooks') or []
             if isinstance(h, dict) and h.get('type') in EMA_HOOKS
             and h.get('resume_from') is not None]
    if len(set(found)) > 1:
        raise ValueError(f'custom_hooks: the EMA hooks resume from different files {found}')
    return found[0] if found else None
