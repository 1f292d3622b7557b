"""The ``evaluation`` key of a 2.x config: which of its keys configure the evaluation hook
and which are arguments of ``dataset.evaluate``, and its translation into mmengine's
``val_cfg`` / ``val_dataloader`` / ``val_evaluator`` and the CheckpointHook's ``save_best``.

:data:`EVAL_HOOK_KEYS` is the one list of hook keys: the runner's metric, ``tools/test.py``
and the analysis tools all split ``evaluation=dict(...)`` with :func:`dataset_evaluate_kwargs`.
"""
from typing import Any, Dict, Mapping, Optional

from mmengine.config import Config

from .dataloaders import dataloader
from .runtime_keys import plain_copy

# Keys of a 2.x ``evaluation=dict(...)`` that configure the hook (mmcv's EvalHook /
# DistEvalHook, mmdet's dynamic intervals, the deprecated efficient_test), not
# ``dataset.evaluate``.
EVAL_HOOK_KEYS = ('interval', 'start', 'by_epoch', 'save_best', 'rule', 'greater_keys',
                  'less_keys', 'gpu_collect', 'tmpdir', 'broadcast_bn_buffer', 'efficient_test',
                  'out_dir', 'file_client_args', 'dynamic_intervals')


def dataset_evaluate_kwargs(evaluation: Optional[Mapping[str, Any]]) -> Dict[str, Any]:
    """The items of ``evaluation=dict(...)`` (None: none) that ``dataset.evaluate`` takes:
    ``metric``, ``classwise``, ``iou_thrs``, ... (every key but :data:`EVAL_HOOK_KEYS`)."""
    return {k: v for k, v in plain_copy(dict(evaluation or {})).items()
            if k not in EVAL_HOOK_KEYS}


def evaluation(cfg: Config, validate: bool, val_dataset: Any) -> Dict[str, Any]:
    """``val_cfg``/``val_dataloader``/``val_evaluator``, the CheckpointHook's save_best and the
    train loop's ``val_interval``/``val_begin``/``dynamic_intervals``."""
    out: Dict[str, Any] = dict(val_interval=1, val_begin=1, save_best=None, val_cfg=None,
                               val_dataloader=None, val_evaluator=None, dynamic_intervals=None)
    if not validate or cfg.get('evaluation') is None:
        return out
    eval_cfg = plain_copy(cfg.evaluation)
    out['val_interval'] = eval_cfg.get('interval', 1)
    out['val_begin'] = eval_cfg.get('start') or 1
    if eval_cfg.get('dynamic_intervals') is not None:
        # [(milestone, interval), ...]: from epoch/iteration `milestone` on, every `interval`
        # (mmengine's train loops decide the interval exactly as 2.x's EvalHook did)
        out['dynamic_intervals'] = [tuple(d) for d in eval_cfg['dynamic_intervals']]
    if eval_cfg.get('save_best') is not None:
        out['save_best'] = dict(save_best=eval_cfg['save_best'],
                                rule=eval_cfg.get('rule') or 'greater')
        for key in ('greater_keys', 'less_keys'):
            if eval_cfg.get(key) is not None:
                out['save_best'][key] = eval_cfg[key]
    val_data_cfg = plain_copy(cfg.data.val)
    if isinstance(val_data_cfg, dict):
        val_data_cfg['test_mode'] = True
    out['val_cfg'] = dict(type='ValLoop')
    out['val_dataloader'] = dataloader(cfg, 'val', val_dataset)
    out['val_evaluator'] = dict(type='DatasetMetric', dataset=val_data_cfg,
                                **dataset_evaluate_kwargs(eval_cfg))
    return out
