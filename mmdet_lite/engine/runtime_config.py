"""mmdetection 2.x runtime keys → mmengine ``Runner`` arguments (docs/conventions.md §2).

The engine is the only place that reads runtime keys. This module orchestrates the
translation: :func:`runner_kwargs` turns a 2.x config into the keyword arguments of
:class:`~mmdet_lite.engine.runner.LiteRunner` and :func:`build_runner` builds the runner. Each
concern has its own module: the key dialect and its checks (``runtime_keys``), loops,
optimizer and LR schedule (``schedules``), hooks and logging (``hooks_config``), datasets and
dataloaders (``dataloaders``), evaluation (``evaluation_config``).

Logs: the text log is ``<work_dir>/<timestamp>/<timestamp>.log``; the scalars of every logged
iteration/epoch (losses, lr, val losses, metrics), one JSON object a line as mmcv 1.x's
``*.log.json``, are in ``<work_dir>/<timestamp>/vis_data/<timestamp>.json`` and
``.../vis_data/scalars.json``; TensorBoard events go to ``.../vis_data/`` when
``TensorboardLoggerHook`` is listed and tensorboard is installed.
"""
import os
import uuid
from typing import Any, Dict

import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.runner import set_random_seed
from mmengine.utils import import_modules_from_strings

from ..models import build_detector
from .dataloaders import build_datasets, build_test_dataloader, dataloader, val_loss_dataset_cfg
from .evaluation_config import EVAL_HOOK_KEYS, dataset_evaluate_kwargs, evaluation
from .hooks_config import custom_hooks, default_hooks, ema_resume_from, visualizer
from .runner import LiteRunner
from .runtime_keys import check_runtime_keys, plain_copy
from .schedules import is_epoch_based, optim_wrapper, scale_lr, train_loop, workflow_val_every
from .training_speed import optimize_for_training, training_speed_options

__all__ = ['runner_kwargs', 'build_runner', 'build_test_dataloader', 'check_runtime_keys',
           'EVAL_HOOK_KEYS', 'dataset_evaluate_kwargs']


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
            model = build_detector(plain_copy(cfg.model),
                                   train_cfg=plain_copy(cfg.get('train_cfg')),
                                   test_cfg=plain_copy(cfg.get('test_cfg')))
        datasets = build_datasets(cfg, validate, train_dataset)
    optimize_for_training(model, **training_speed_options(cfg.get('training_speed'),
                                                          cfg.filename or 'the config'))
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
    resume_from = cfg.get('resume_from')
    hook_resume_from = ema_resume_from(cfg)
    if hook_resume_from is not None:
        if resume_from is not None and resume_from != hook_resume_from:
            raise ValueError(f'resume_from={resume_from!r} and the EMA hook\'s '
                             f'resume_from={hook_resume_from!r} differ; keep one')
        resume_from = hook_resume_from
    if resume_from is not None:
        load_from, resume = resume_from, True
    elif cfg.get('auto_resume', False):
        # LiteRunner.load_or_resume picks the newest intact checkpoint, else load_from
        load_from, resume = None, True
    dist_cfg = plain_copy(cfg.get('dist_params') or dict(backend='nccl'))
    if dist_cfg.get('backend', 'nccl') == 'nccl' and not torch.cuda.is_available():
        dist_cfg['backend'] = 'gloo'
    stem = os.path.splitext(os.path.basename(cfg.filename or 'mmdet_lite'))[0]
    return dict(
        model=model, work_dir=work_dir,
        train_dataloader=dataloader(cfg, 'train', datasets['train'], shuffle=True),
        val_dataloader=evals['val_dataloader'], val_cfg=evals['val_cfg'],
        val_evaluator=evals['val_evaluator'],
        train_cfg=train_loop(cfg, evals['val_interval'], evals['val_begin'],
                             evals['dynamic_intervals']),
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
        cfg = Config(plain_copy(cfg))
    return LiteRunner(**runner_kwargs(cfg, validate=validate, model=model,
                                      train_dataset=train_dataset))
