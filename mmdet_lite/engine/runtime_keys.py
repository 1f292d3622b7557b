"""The mmdetection 2.x runtime-key dialect (docs/conventions.md §2): which top-level config keys are
runtime keys, and how the translators read them.

:func:`check_runtime_keys` rejects keys the dialect does not understand; :func:`plain_copy`
and :func:`reject_extra_keys` are what every translator (``schedules``, ``hooks_config``,
``dataloaders``, ``evaluation_config``) uses to read a section without mutating the caller's
config and to name the keys it does not know.
"""
import copy
import difflib
import inspect
import warnings
from typing import Any, FrozenSet, Iterable, Optional

from mmengine.config import Config, ConfigDict

# runtime keys the engine translates
RUNTIME_KEYS = frozenset({
    'model', 'data', 'optimizer', 'optimizer_config', 'lr_config', 'momentum_config', 'runner',
    'total_epochs', 'workflow', 'evaluation', 'checkpoint_config', 'log_config',
    'custom_hooks', 'load_from', 'resume_from', 'auto_resume', 'work_dir', 'dist_params',
    'auto_scale_lr', 'seed', 'deterministic', 'fp16', 'log_level', 'opencv_num_threads',
    'mp_start_method', 'custom_imports', 'gpu_ids', 'device', 'launcher', 'cudnn_benchmark',
    'find_unused_parameters', 'train_cfg', 'test_cfg', 'experiment_name', 'training_speed'})
# helper variables of 2.x config files (datasets, pipelines, model parts) that are no runtime
# key: every top-level name of mmdetection 2.28's own config tree that is not one
HELPER_KEYS = frozenset({
    'dataset_type', 'data_root', 'img_norm_cfg', 'train_pipeline', 'test_pipeline',
    'val_pipeline', 'classes', 'file_client_args', 'backend_args', 'img_scale', 'norm_cfg',
    'pretrained', 'num_classes', 'albu_train_transforms', 'image_size', 'max_epochs',
    'num_stages', 'metainfo', 'checkpoint_file', 'interval', 'num_things_classes',
    'num_stuff_classes', 'conv_cfg', 'input_size', 'embed_multi', 'max_iters',
    'dynamic_intervals', 'num_proposals', 'head_norm_cfg', 'depths', 'custom_keys', 'min_values',
    'backbone_norm_multi', 'backbone_embed_multi', 'checkpoint', 'teacher_ckpt',
    'train_dataset', 'num_last_epochs', 'img_size', 'pad_cfg', 'load_pipeline', 'rpn_weight',
    'norm_multi', 'CLASSES'})
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


def plain_copy(obj: Any) -> Any:
    """Deep copy with ``ConfigDict`` turned into ``dict`` (we never mutate the caller's cfg).

    ``_delete_`` markers are dropped: a config file's merge instruction, left in place when
    there was nothing to replace, is never an argument.
    """
    if isinstance(obj, (dict, ConfigDict)):
        return {k: plain_copy(v) for k, v in obj.items() if k != '_delete_'}
    if isinstance(obj, (list, tuple)):
        return type(obj)(plain_copy(v) for v in obj)
    return copy.deepcopy(obj)


def reject_extra_keys(section: str, given: dict, allowed: Iterable[str]) -> None:
    """Raise a ``KeyError`` naming ``section`` and the keys of ``given`` not in ``allowed``."""
    allowed = tuple(allowed)
    extra = sorted(set(given) - set(allowed))
    if extra:
        raise KeyError(f'{section}: unknown key(s) {extra}; allowed keys are {sorted(allowed)}')


def init_arguments(cls: type) -> Optional[FrozenSet[str]]:
    """The keyword arguments ``cls(...)`` accepts: its ``__init__``'s named parameters and,
    while an ``__init__`` passes ``**kwargs`` on, those of its base classes' ``__init__``s.

    None when the chain ends in ``**kwargs`` that no base class takes (e.g. mmengine's
    ``EMAHook`` forwards them to its averaged model): any key may be right then.
    """
    names = set()
    open_kwargs = False
    for klass in cls.__mro__:
        init = klass.__dict__.get('__init__')
        if init is None:
            continue
        if klass is object:
            break
        params = inspect.signature(init).parameters.values()
        names.update(p.name for p in params if p.name != 'self' and p.kind in (
            p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY))
        open_kwargs = any(p.kind == p.VAR_KEYWORD for p in params)
        if not open_kwargs:
            break
    return None if open_kwargs else frozenset(names)
