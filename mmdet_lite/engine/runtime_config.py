"""mmdetection 2.x runtime keys → mmengine ``Runner`` arguments (design §3.2).

This is the only place that reads runtime keys. :func:`runner_kwargs` translates a 2.x config
into the keyword arguments of :class:`~mmdet_lite.engine.runner.LiteRunner`;
:func:`build_runner` builds the runner.

Logs: the text log is ``<work_dir>/<timestamp>/<timestamp>.log``; the scalars of every logged
iteration/epoch (losses, lr, val losses, metrics), one JSON object a line as mmcv 1.x's
``*.log.json``, are in ``<work_dir>/<timestamp>/vis_data/<timestamp>.json`` and
``.../vis_data/scalars.json``; TensorBoard events go to ``.../vis_data/`` when
``TensorboardLoggerHook`` is listed and tensorboard is installed.
"""
import copy
import difflib
import os
import uuid
import warnings
from typing import Any, Dict, List, Optional

import torch
from mmengine.config import Config, ConfigDict
from mmengine.registry import DefaultScope
from mmengine.runner import find_latest_checkpoint, set_random_seed
from mmengine.utils import import_modules_from_strings

from ..registry import DATA_SAMPLERS
from ..checkpoint import ATOMIC_BACKEND
from .runner import LiteRunner

# runtime keys this module translates
RUNTIME_KEYS = frozenset({
    'model', 'data', 'optimizer', 'optimizer_config', 'lr_config', 'momentum_config', 'runner',
    'total_epochs', 'workflow', 'evaluation', 'checkpoint_config', 'log_config',
    'custom_hooks', 'load_from', 'resume_from', 'auto_resume', 'work_dir', 'dist_params',
    'auto_scale_lr', 'seed', 'deterministic', 'fp16', 'log_level', 'opencv_num_threads',
    'mp_start_method', 'custom_imports', 'gpu_ids', 'device', 'launcher', 'cudnn_benchmark',
    'find_unused_parameters', 'train_cfg', 'test_cfg', 'experiment_name'})
# helper variables of 2.x config files (datasets, pipelines, model parts) that are no runtime key
HELPER_KEYS = frozenset({
    'dataset_type', 'data_root', 'img_norm_cfg', 'train_pipeline', 'test_pipeline',
    'val_pipeline', 'classes', 'file_client_args', 'backend_args', 'img_scale', 'norm_cfg',
    'pretrained', 'num_classes', 'albu_train_transforms', 'image_size', 'max_epochs',
    'num_stages', 'metainfo'})
LOGGER_HOOKS = {'TextLoggerHook': None, 'TensorboardLoggerHook': 'TensorboardVisBackend',
                'WandbLoggerHook': 'WandbVisBackend', 'MlflowLoggerHook': 'MLflowVisBackend'}
LR_KEYS = ('policy', 'by_epoch', 'warmup', 'warmup_iters', 'warmup_ratio', 'warmup_by_epoch',
           'step', 'gamma', 'min_lr', 'min_lr_ratio', 'power')
EVAL_HOOK_KEYS = ('interval', 'start', 'by_epoch', 'save_best', 'rule', 'greater_keys',
                  'less_keys', 'gpu_collect', 'tmpdir', 'broadcast_bn_buffer', 'efficient_test',
                  'out_dir', 'file_client_args', 'dynamic_intervals')
DATALOADER_KEYS = ('samples_per_gpu', 'workers_per_gpu', 'persistent_workers', 'shuffle',
                   'pin_memory', 'seed', 'dist', 'num_gpus', 'runner_type',
                   'class_aware_sampler')


MMENGINE_STYLE_KEYS = frozenset({
    'train_dataloader', 'val_dataloader', 'test_dataloader', 'train_cfg', 'val_cfg',
    'optim_wrapper', 'param_scheduler', 'default_hooks', 'val_evaluator', 'test_evaluator',
    'default_scope', 'env_cfg', 'visualizer', 'vis_backends', 'log_processor', 'resume',
    'randomness', 'launcher_cfg'})


def check_runtime_keys(cfg: Config) -> None:
    """Reject runtime keys this dialect does not understand; warn about other unknown keys.

    A key that is an mmengine-style runtime key, or is close to a 2.x runtime key (a typo such
    as ``lr_confg``), is an error naming it. Any other top-level name is a helper variable of
    the config file (2.x configs define many: ``train_pipeline``, ``data_root``, ...); it is
    reported in a warning, so that nothing is silently ignored.
    """
    errors, helpers = [], []
    for key in cfg.keys():
        if key in RUNTIME_KEYS or key in HELPER_KEYS or key.startswith('_'):
            continue
        if key in MMENGINE_STYLE_KEYS and key not in RUNTIME_KEYS:
            errors.append(f'{key!r} is an mmengine-style key, not part of the 2.x dialect')
            continue
        close = difflib.get_close_matches(key, sorted(RUNTIME_KEYS), n=1, cutoff=0.8)
        if close:
            errors.append(f'{key!r} is not understood; did you mean {close[0]!r}?')
        else:
            helpers.append(key)
    if errors:
        raise KeyError(
            f'unknown runtime key(s) in {cfg.filename or "the config"}: ' + '; '.join(errors)
            + f'. mmdet_lite understands the mmdetection 2.x runtime keys {sorted(RUNTIME_KEYS)}')
    if helpers:
        warnings.warn(f'config {cfg.filename or ""}: top-level key(s) {helpers} are not runtime '
                      'keys; they are treated as helper variables of the config file and not '
                      "read by the runner (prefix them with '_' to silence this warning)")


def _plain(obj: Any) -> Any:
    """Deep copy with ``ConfigDict`` turned into ``dict`` (we never mutate the caller's cfg)."""
    if isinstance(obj, (dict, ConfigDict)):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_plain(v) for v in obj)
    return copy.deepcopy(obj)


def _reject_extra(section: str, given: dict, allowed) -> None:
    extra = sorted(set(given) - set(allowed))
    if extra:
        raise KeyError(f'{section}: unknown key(s) {extra}; allowed keys are {sorted(allowed)}')


# ---------------------------------------------------------------------------- loops
def train_loop(cfg: Config, val_interval: int, val_begin: int) -> dict:
    runner_cfg = _plain(cfg.get('runner') or {})
    total_epochs = cfg.get('total_epochs')
    if not runner_cfg:
        if total_epochs is None:
            raise KeyError("the config needs runner=dict(type='EpochBasedRunner', max_epochs=N) "
                           "or runner=dict(type='IterBasedRunner', max_iters=N)")
        runner_cfg = dict(type='EpochBasedRunner', max_epochs=total_epochs)
    runner_type = runner_cfg.pop('type', 'EpochBasedRunner')
    if runner_type == 'EpochBasedRunner':
        _reject_extra('runner', runner_cfg, ('max_epochs', ))
        if total_epochs is not None and total_epochs != runner_cfg.get('max_epochs'):
            raise ValueError(f'total_epochs={total_epochs} and runner.max_epochs='
                             f"{runner_cfg.get('max_epochs')} disagree; keep only runner")
        return dict(type='EpochBasedTrainLoop', max_epochs=runner_cfg['max_epochs'],
                    val_interval=val_interval, val_begin=val_begin)
    if runner_type == 'IterBasedRunner':
        _reject_extra('runner', runner_cfg, ('max_iters', ))
        return dict(type='IterBasedTrainLoop', max_iters=runner_cfg['max_iters'],
                    val_interval=val_interval, val_begin=val_begin)
    raise ValueError(f"runner.type={runner_type!r} is not supported; use 'EpochBasedRunner' "
                     "or 'IterBasedRunner'")


def is_epoch_based(cfg: Config) -> bool:
    return (cfg.get('runner') or {}).get('type', 'EpochBasedRunner') == 'EpochBasedRunner'


# ---------------------------------------------------------------------------- data
def _dataset_pipeline_owner(dataset_cfg: dict) -> dict:
    """The dict holding ``pipeline`` (wrappers such as RepeatDataset nest it in ``dataset``)."""
    while 'pipeline' not in dataset_cfg and isinstance(dataset_cfg.get('dataset'), dict):
        dataset_cfg = dataset_cfg['dataset']
    return dataset_cfg


def dataloader(cfg: Config, split: str, dataset: Any = None, *, shuffle: bool = False,
               defaults: Optional[dict] = None) -> dict:
    """An mmengine dataloader config for ``data.<split>`` with 2.x batch/worker settings.

    ``samples_per_gpu``/``workers_per_gpu``: training uses ``data.*``; val/test default to
    1 sample (as 2.x) and ``data.workers_per_gpu``; ``data.<split>_dataloader`` overrides both.
    """
    data = _plain(cfg.data)
    if split == 'train':
        args = {k: v for k, v in data.items() if k in DATALOADER_KEYS}
    else:
        args = dict(samples_per_gpu=1, workers_per_gpu=data.get('workers_per_gpu', 2))
    args.update(defaults or {})
    override = data.get(f'{split}_dataloader') or {}
    _reject_extra(f'data.{split}_dataloader', override, DATALOADER_KEYS)
    args.update(override)
    if dataset is None:
        dataset = data[split]
    num_workers = args.get('workers_per_gpu', 2)
    loader = dict(batch_size=args.get('samples_per_gpu', 2), num_workers=num_workers,
                  persistent_workers=bool(args.get('persistent_workers', False)) and num_workers > 0,
                  pin_memory=bool(args.get('pin_memory', False)),
                  collate_fn=dict(type='mmdet_lite.mmdet_collate'), dataset=dataset)
    shuffle = args.get('shuffle', shuffle)
    if (split == 'train' and shuffle and getattr(dataset, 'flag', None) is not None):
        if DATA_SAMPLERS.get('GroupSampler') is not None:
            loader['sampler'] = dict(type='GroupSampler', samples_per_gpu=loader['batch_size'])
        else:
            warnings.warn('the train dataset has aspect-ratio groups (flag) but no GroupSampler '
                          'is registered: batches are sampled without grouping')
            loader['sampler'] = dict(type='DefaultSampler', shuffle=True)
    else:
        loader['sampler'] = dict(type='DefaultSampler', shuffle=bool(shuffle))
    return loader


def build_test_dataloader(cfg: Config, dataset: Any, seed: Optional[int] = None):
    """A built DataLoader over ``dataset`` with ``data.test_dataloader`` settings, in order
    (``DefaultSampler(shuffle=False)``: in distributed runs each rank takes its share)."""
    with DefaultScope.overwrite_default_scope('mmdet_lite'):
        return LiteRunner.build_dataloader(dataloader(cfg, 'test', dataset, shuffle=False),
                                           seed=seed)


def build_datasets(cfg: Config, validate: bool, train_dataset: Any = None) -> Dict[str, Any]:
    from ..datasets import build_dataset
    if train_dataset is None:
        train_dataset = build_dataset(_plain(cfg.data.train))
    built = dict(train=train_dataset)
    if validate and cfg.get('evaluation') is not None:
        val_cfg = _plain(cfg.data.val)
        if isinstance(val_cfg, dict):
            val_cfg['test_mode'] = True
        built['val'] = build_dataset(val_cfg)
    return built


def val_loss_dataset_cfg(cfg: Config) -> dict:
    """``data.val`` with the TRAIN pipeline, as mmdetection 2.x built the ('val', N) phase."""
    val_cfg = _plain(cfg.data.val)
    train_owner = _dataset_pipeline_owner(_plain(cfg.data.train))
    if 'pipeline' not in train_owner:
        raise KeyError("workflow ('val', N) needs data.train.pipeline (the val losses are "
                       'computed on data.val through the train pipeline)')
    _dataset_pipeline_owner(val_cfg)['pipeline'] = train_owner['pipeline']
    return val_cfg


# ---------------------------------------------------------------------------- optimisation
def optim_wrapper(cfg: Config) -> dict:
    if cfg.get('optimizer') is None:
        raise KeyError("the config needs optimizer=dict(type='SGD', lr=..., ...)")
    optimizer = _plain(cfg.optimizer)
    wrapper: Dict[str, Any] = dict(type='OptimWrapper')
    paramwise_cfg = optimizer.pop('paramwise_cfg', None)
    constructor = optimizer.pop('constructor', None)
    if paramwise_cfg is not None:
        wrapper['paramwise_cfg'] = paramwise_cfg
    if constructor not in (None, 'DefaultOptimizerConstructor'):
        wrapper['constructor'] = constructor
    opt_cfg = _plain(cfg.get('optimizer_config') or {})
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
    _reject_extra('optimizer_config', opt_cfg, ())
    if cfg.get('fp16') is not None:
        fp16 = _plain(cfg.fp16)
        loss_scale = fp16.pop('loss_scale', 512.)
        _reject_extra('fp16', fp16, ())
    if loss_scale is not None:
        if torch.cuda.is_available():
            wrapper.update(type='AmpOptimWrapper', loss_scale=loss_scale)
        else:
            warnings.warn('fp16 is set but CUDA is not available: training in float32 on CPU')
    wrapper['optimizer'] = optimizer
    return wrapper


def lr_hook(cfg: Config) -> Optional[dict]:
    if cfg.get('momentum_config') is not None:
        raise ValueError('momentum_config is not supported by mmdet_lite; remove it (or set '
                         'it to None)')
    lr_config = cfg.get('lr_config')
    if lr_config is None:
        return None
    lr_config = _plain(lr_config)
    _reject_extra('lr_config', lr_config, LR_KEYS)
    return dict(type='LrUpdaterHook', **lr_config)


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


# ---------------------------------------------------------------------------- hooks, logging
def default_hooks(cfg: Config, save_best: Optional[dict]) -> dict:
    log_config = _plain(cfg.get('log_config') or dict(interval=50, hooks=[]))
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
            _reject_extra('TextLoggerHook', hook, ())
    hooks = dict(timer=dict(type='IterTimerHook'), logger=logger, param_scheduler=None,
                 sampler_seed=dict(type='DistSamplerSeedHook'), checkpoint=None)
    if cfg.get('checkpoint_config') is not None:
        ckpt = _plain(cfg.checkpoint_config)
        ckpt.pop('meta', None)  # 2.x tools put CLASSES here; the runner stores them itself
        ckpt.pop('create_symlink', None)  # latest.pth is always made
        ckpt.setdefault('by_epoch', is_epoch_based(cfg))
        ckpt.update(save_best or {})
        hooks['checkpoint'] = dict(type='CheckpointHook', backend_args=dict(
            backend=ATOMIC_BACKEND), **ckpt)
    return hooks


def visualizer(cfg: Config) -> dict:
    backends: List[dict] = [dict(type='LocalVisBackend')]
    for hook in (cfg.get('log_config') or {}).get('hooks', []):
        backend = LOGGER_HOOKS.get(hook['type'])
        if backend == 'TensorboardVisBackend':
            try:
                import tensorboard  # noqa: F401
            except ImportError:
                warnings.warn('log_config lists TensorboardLoggerHook but tensorboard is not '
                              'installed: pip install tensorboard; logging text/JSON only')
                continue
        if backend is not None:
            backends.append(dict(type=backend))
    return dict(type='Visualizer', vis_backends=backends)


def custom_hooks(cfg: Config, val_loss_loader: Optional[dict], val_every: int) -> List[dict]:
    hooks = [_plain(h) for h in cfg.get('custom_hooks') or []]
    lr = lr_hook(cfg)
    if lr is not None:
        hooks.append(lr)
    if val_loss_loader is not None:
        hooks.append(dict(type='ValLossHook', dataloader=val_loss_loader, interval=val_every))
    return hooks


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


# ---------------------------------------------------------------------------- evaluation
def evaluation(cfg: Config, validate: bool, val_dataset: Any) -> Dict[str, Any]:
    """``val_cfg``/``val_dataloader``/``val_evaluator`` and the CheckpointHook's save_best."""
    out: Dict[str, Any] = dict(val_interval=1, val_begin=1, save_best=None, val_cfg=None,
                               val_dataloader=None, val_evaluator=None)
    if not validate or cfg.get('evaluation') is None:
        return out
    eval_cfg = _plain(cfg.evaluation)
    out['val_interval'] = eval_cfg.get('interval', 1)
    out['val_begin'] = eval_cfg.get('start') or 1
    if eval_cfg.get('save_best') is not None:
        out['save_best'] = dict(save_best=eval_cfg['save_best'],
                                rule=eval_cfg.get('rule') or 'greater')
        for key in ('greater_keys', 'less_keys'):
            if eval_cfg.get(key) is not None:
                out['save_best'][key] = eval_cfg[key]
    metric_args = {k: v for k, v in eval_cfg.items() if k not in EVAL_HOOK_KEYS}
    val_data_cfg = _plain(cfg.data.val)
    if isinstance(val_data_cfg, dict):
        val_data_cfg['test_mode'] = True
    out['val_cfg'] = dict(type='ValLoop')
    out['val_dataloader'] = dataloader(cfg, 'val', val_dataset)
    out['val_evaluator'] = dict(type='DatasetMetric', dataset=val_data_cfg, **metric_args)
    return out


# ---------------------------------------------------------------------------- runner
def runner_kwargs(cfg: Config, validate: bool = True, model: Any = None,
                  train_dataset: Any = None) -> Dict[str, Any]:
    """Translate a 2.x config into :class:`LiteRunner` keyword arguments.

    ``model``/``train_dataset``: already-built objects to use instead of ``cfg.model`` /
    ``cfg.data.train``. ``validate=False`` drops ``evaluation`` (``--no-validate``).
    """
    check_runtime_keys(cfg)
    if cfg.get('custom_imports') is not None:
        import_modules_from_strings(**cfg.custom_imports)
    launcher = cfg.get('launcher', 'none')
    world_size = int(os.environ.get('WORLD_SIZE', 1)) if launcher != 'none' else 1
    work_dir = cfg.get('work_dir')
    if work_dir is None:
        if not cfg.filename:
            raise KeyError('set work_dir in the config (or pass --work-dir)')
        work_dir = os.path.join('./work_dirs',
                                os.path.splitext(os.path.basename(cfg.filename))[0])
    if cfg.get('seed') is not None:  # before the model exists: its initial weights are seeded
        set_random_seed(cfg.seed, deterministic=cfg.get('deterministic', False))
    with DefaultScope.overwrite_default_scope('mmdet_lite'):
        if model is None:
            from ..models import build_detector
            model = build_detector(_plain(cfg.model), train_cfg=_plain(cfg.get('train_cfg')),
                                   test_cfg=_plain(cfg.get('test_cfg')))
        datasets = build_datasets(cfg, validate, train_dataset)
    val_every = workflow_val_every(cfg)
    evals = evaluation(cfg, validate, datasets.get('val'))
    optim = optim_wrapper(cfg)
    scale_lr(cfg, optim, world_size)
    val_loss_loader = None
    if val_every is not None:
        val_loss_loader = dataloader(cfg, 'val', val_loss_dataset_cfg(cfg))
        # no padding samples across ranks: the average covers each val image once
        val_loss_loader['sampler']['round_up'] = False
    load_from, resume = cfg.get('load_from'), False
    if cfg.get('resume_from') is not None:
        load_from, resume = cfg.resume_from, True
    elif cfg.get('auto_resume', False):
        latest = find_latest_checkpoint(work_dir)
        if latest is not None:
            load_from, resume = latest, True
    dist_cfg = _plain(cfg.get('dist_params') or dict(backend='nccl'))
    if dist_cfg.get('backend', 'nccl') == 'nccl' and not torch.cuda.is_available():
        dist_cfg['backend'] = 'gloo'
    stem = os.path.splitext(os.path.basename(cfg.filename or 'mmdet_lite'))[0]
    return dict(
        model=model, work_dir=work_dir,
        train_dataloader=dataloader(cfg, 'train', datasets['train'], shuffle=True),
        val_dataloader=evals['val_dataloader'], val_cfg=evals['val_cfg'],
        val_evaluator=evals['val_evaluator'],
        train_cfg=train_loop(cfg, evals['val_interval'], evals['val_begin']),
        optim_wrapper=optim, param_scheduler=None,
        default_hooks=default_hooks(cfg, evals['save_best']),
        custom_hooks=custom_hooks(cfg, val_loss_loader, val_every or 1),
        load_from=load_from, resume=resume, launcher=launcher,
        env_cfg=dict(cudnn_benchmark=cfg.get('cudnn_benchmark', False),
                     mp_cfg=dict(mp_start_method=cfg.get('mp_start_method', 'fork'),
                                 opencv_num_threads=cfg.get('opencv_num_threads', 0)),
                     dist_cfg=dist_cfg),
        randomness=dict(seed=cfg.get('seed'), deterministic=cfg.get('deterministic', False)),
        log_processor=dict(type='LogProcessor', by_epoch=is_epoch_based(cfg),
                           window_size=(cfg.get('log_config') or {}).get('interval', 50)),
        log_level=cfg.get('log_level', 'INFO'), visualizer=visualizer(cfg),
        default_scope='mmdet_lite',
        experiment_name=cfg.get('experiment_name') or f'{stem}_{uuid.uuid4().hex[:8]}',
        cfg=cfg)


def build_runner(cfg: Config, validate: bool = True, model: Any = None,
                 train_dataset: Any = None) -> LiteRunner:
    """Build an mmengine Runner (:class:`LiteRunner`) from an mmdetection 2.x config."""
    if not isinstance(cfg, Config):
        cfg = Config(_plain(cfg))
    return LiteRunner(**runner_kwargs(cfg, validate=validate, model=model,
                                      train_dataset=train_dataset))
