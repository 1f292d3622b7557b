"""The schedule keys of a 2.x config → mmengine: training loop, workflow, optimizer wrapper,
LR schedule and ``auto_scale_lr``.

``runner`` / ``total_epochs`` → ``train_cfg`` (epoch- or iteration-based loop); ``workflow`` →
how often the ('val', N) phase runs; ``optimizer`` / ``optimizer_config`` / ``fp16`` →
``optim_wrapper`` (gradient clipping, accumulation, AMP; ``constructor`` and ``paramwise_cfg``
go to mmengine's optimizer-wrapper constructor); ``lr_config`` / ``momentum_config`` → the
mmcv-1.x policy hooks of ``lr_updater_hook`` / ``momentum_updater_hook`` (mmcv 1.x's rule:
``policy='step'`` → ``StepLrUpdaterHook``).
"""
import warnings
from typing import Any, Dict, Optional

import torch
from mmengine.config import Config

from ..registry import HOOKS
from .lr_updater_hook import LR_POLICIES
from .momentum_updater_hook import MOMENTUM_POLICIES
from .runtime_keys import init_arguments, plain_copy, reject_extra_keys


def train_loop(cfg: Config, val_interval: int, val_begin: int,
               dynamic_intervals: Optional[list] = None) -> dict:
    """``train_cfg`` of the runner from ``runner`` (or the older ``total_epochs``) and the
    validation schedule (``evaluation``'s interval, start and dynamic_intervals)."""
    runner_cfg = plain_copy(cfg.get('runner') or {})
    total_epochs = cfg.get('total_epochs')
    if not runner_cfg:
        if total_epochs is None:
            raise KeyError("the config needs runner=dict(type='EpochBasedRunner', max_epochs=N) "
                           "or runner=dict(type='IterBasedRunner', max_iters=N)")
        runner_cfg = dict(type='EpochBasedRunner', max_epochs=total_epochs)
    runner_type = runner_cfg.pop('type', 'EpochBasedRunner')
    if runner_type == 'EpochBasedRunner':
        reject_extra_keys('runner', runner_cfg, ('max_epochs', ))
        if total_epochs is not None and total_epochs != runner_cfg.get('max_epochs'):
            raise ValueError(f'total_epochs={total_epochs} and runner.max_epochs='
                             f"{runner_cfg.get('max_epochs')} disagree; keep only runner")
        loop = dict(type='EpochBasedTrainLoop', max_epochs=runner_cfg['max_epochs'],
                    val_interval=val_interval, val_begin=val_begin)
    elif runner_type == 'IterBasedRunner':
        reject_extra_keys('runner', runner_cfg, ('max_iters', ))
        loop = dict(type='LiteIterBasedTrainLoop', max_iters=runner_cfg['max_iters'],
                    val_interval=val_interval, val_begin=val_begin)
    else:
        raise ValueError(f"runner.type={runner_type!r} is not supported; use "
                         "'EpochBasedRunner' or 'IterBasedRunner'")
    if dynamic_intervals is not None:
        loop['dynamic_intervals'] = dynamic_intervals
    return loop


def is_epoch_based(cfg: Config) -> bool:
    return (cfg.get('runner') or {}).get('type', 'EpochBasedRunner') == 'EpochBasedRunner'


def workflow_val_every(cfg: Config) -> Optional[int]:
    """Train epochs between two ('val', N) phases, or None when the workflow trains only."""
    workflow = [tuple(w) for w in cfg.get('workflow') or [('train', 1)]]
    phases = [w[0] for w in workflow]
    if not workflow or phases[0] != 'train' or any(p not in ('train', 'val') for p in phases):
        raise ValueError(f"workflow={workflow} is not supported; use [('train', 1)] or "
                         "[('train', N), ('val', 1)]")
    if 'val' not in phases:
        return None
    if len(workflow) != 2:
        raise ValueError(f"workflow={workflow}: use [('train', N), ('val', 1)]")
    if not is_epoch_based(cfg):
        raise ValueError("workflow ('val', N) needs runner.type='EpochBasedRunner' as in 2.x")
    return workflow[0][1]


def optim_wrapper(cfg: Config) -> dict:
    """``optim_wrapper`` from ``optimizer``, ``optimizer_config`` and ``fp16``."""
    if cfg.get('optimizer') is None:
        raise KeyError("the config needs optimizer=dict(type='SGD', lr=..., ...)")
    optimizer = plain_copy(cfg.optimizer)
    wrapper: Dict[str, Any] = dict(type='OptimWrapper')
    paramwise_cfg = optimizer.pop('paramwise_cfg', None)
    constructor = optimizer.pop('constructor', None)
    if paramwise_cfg is not None:
        wrapper['paramwise_cfg'] = paramwise_cfg
    if constructor not in (None, 'DefaultOptimizerConstructor'):
        wrapper['constructor'] = constructor
    opt_cfg = plain_copy(cfg.get('optimizer_config') or {})
    hook_type = opt_cfg.pop('type', 'OptimizerHook')
    grad_clip = opt_cfg.pop('grad_clip', None)
    if grad_clip is not None:
        wrapper['clip_grad'] = grad_clip
    if hook_type == 'GradientCumulativeOptimizerHook':
        wrapper['accumulative_counts'] = opt_cfg.pop('cumulative_iters', 1)
    loss_scale = None
    if hook_type == 'Fp16OptimizerHook':
        loss_scale = opt_cfg.pop('loss_scale', 512.)
        opt_cfg.pop('distributed', None)
    elif hook_type not in ('OptimizerHook', 'GradientCumulativeOptimizerHook'):
        raise ValueError(f'optimizer_config.type={hook_type!r} is not supported; use '
                         "'OptimizerHook', 'Fp16OptimizerHook' or 'GradientCumulativeOptimizerHook'")
    opt_cfg.pop('detect_anomalous_params', None)
    reject_extra_keys('optimizer_config', opt_cfg, ())
    if cfg.get('fp16') is not None:
        fp16 = plain_copy(cfg.fp16)
        loss_scale = fp16.pop('loss_scale', 512.)
        reject_extra_keys('fp16', fp16, ())
    if loss_scale is not None:
        if torch.cuda.is_available():
            wrapper.update(type='AmpOptimWrapper', loss_scale=loss_scale)
        else:
            warnings.warn('fp16 is set but CUDA is not available: training in float32 on CPU')
    wrapper['optimizer'] = optimizer
    return wrapper


def policy_hook(section: str, config: dict, suffix: str,
                builtin: Dict[str, type]) -> dict:
    """The hook config of ``lr_config`` / ``momentum_config``: mmcv 1.x's rule turns
    ``policy='X'`` into the hook type ``X<suffix>`` (an all-lowercase policy is title-cased:
    'step' → 'Step'); a built-in policy also matches case-insensitively ('yolox' → 'YOLOX').
    Keys the hook does not take are an error naming them."""
    config = plain_copy(config)
    policy = config.pop('policy', None)
    if not isinstance(policy, str):
        raise KeyError(f"{section} needs policy='<name>' (one of {sorted(builtin)}), got "
                       f'policy={policy!r}')
    hook_type = (policy.title() if policy == policy.lower() else policy) + suffix
    cls = HOOKS.get(hook_type)
    if cls is None:
        same = [name for name in builtin if name.lower() == policy.lower()]
        if not same:
            raise ValueError(f'{section}.policy={policy!r} is not supported (no hook '
                             f'{hook_type!r}); use one of {sorted(builtin)} or register a '
                             f'{suffix} subclass named <Policy>{suffix}')
        cls = builtin[same[0]]
        hook_type = cls.__name__
    allowed = init_arguments(cls)
    if allowed is not None:
        reject_extra_keys(f'{section} (policy={policy!r})', config, allowed)
    return dict(type=hook_type, **config)


def lr_hook(cfg: Config) -> Optional[dict]:
    """The ``<Policy>LrUpdaterHook`` config of ``lr_config``, or None without one."""
    if cfg.get('lr_config') is None:
        return None
    return policy_hook('lr_config', cfg.lr_config, 'LrUpdaterHook', LR_POLICIES)


def momentum_hook(cfg: Config) -> Optional[dict]:
    """The ``<Policy>MomentumUpdaterHook`` config of ``momentum_config``, or None."""
    if cfg.get('momentum_config') is None:
        return None
    return policy_hook('momentum_config', cfg.momentum_config, 'MomentumUpdaterHook',
                       MOMENTUM_POLICIES)


def scale_lr(cfg: Config, optim: dict, world_size: int) -> None:
    """mmdetection 2.x auto_scale_lr: lr *= (GPUs x samples_per_gpu) / base_batch_size."""
    auto_scale = cfg.get('auto_scale_lr') or {}
    if not auto_scale.get('enable', False):
        return
    if 'base_batch_size' not in auto_scale:
        raise KeyError('auto_scale_lr.enable=True needs auto_scale_lr.base_batch_size')
    train_loader = cfg.data.get('train_dataloader') or {}
    samples = train_loader.get('samples_per_gpu', cfg.data.get('samples_per_gpu', 2))
    batch_size = world_size * samples
    if batch_size != auto_scale['base_batch_size']:
        optim['optimizer']['lr'] *= batch_size / auto_scale['base_batch_size']
