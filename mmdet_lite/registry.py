"""Registries of mmdet_lite: children of mmengine's root registries, scope ``mmdet_lite``.

Building a config whose ``type`` is unknown raises a ``KeyError`` that names the
registry and suggests the closest registered names.
"""
import difflib
from typing import Any, Optional

from mmengine.registry import DATA_SAMPLERS as MMENGINE_DATA_SAMPLERS
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import EVALUATOR as MMENGINE_EVALUATOR
from mmengine.registry import FUNCTIONS as MMENGINE_FUNCTIONS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import LOOPS as MMENGINE_LOOPS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS as MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import OPTIMIZERS as MMENGINE_OPTIMIZERS
from mmengine.registry import PARAM_SCHEDULERS as MMENGINE_PARAM_SCHEDULERS
from mmengine.registry import TASK_UTILS as MMENGINE_TASK_UTILS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import VISBACKENDS as MMENGINE_VISBACKENDS
from mmengine.registry import VISUALIZERS as MMENGINE_VISUALIZERS
from mmengine.registry import Registry, build_from_cfg


def _all_names(registry: Registry) -> list:
    """Names visible from ``registry``: its own, its children's and its parents'."""
    names = set(registry.module_dict)
    node = registry
    while node.parent is not None:
        node = node.parent
        names.update(node.module_dict)
    stack = list(registry.children.values())
    while stack:
        child = stack.pop()
        names.update(child.module_dict)
        stack.extend(child.children.values())
    return sorted(names)


def build_with_hints(cfg: Any, registry: Registry, default_args: Optional[dict] = None) -> Any:
    """``mmengine.registry.build_from_cfg`` plus an error that suggests close names."""
    if isinstance(cfg, dict) or hasattr(cfg, 'keys'):
        obj_type = cfg.get('type') if 'type' in cfg else None
        if isinstance(obj_type, str):
            registry.import_from_location()
            if registry.get(obj_type) is None:
                names = _all_names(registry)
                close = difflib.get_close_matches(obj_type, names, n=5, cutoff=0.5)
                hint = (f'Did you mean one of {close}?' if close else
                        f'Registered names are: {names}.')
                raise KeyError(
                    f"type='{obj_type}' is not registered in the '{registry.name}' registry "
                    f"(scope '{registry.scope}'). {hint} If it is your own class, register it with "
                    f"@<REGISTRY>.register_module() and import its module (or list the module "
                    f"in the config's custom_imports=dict(imports=[...])).")
    return build_from_cfg(cfg, registry, default_args)


def _child(name: str, parent: Registry, location: str) -> Registry:
    return Registry(name, parent=parent, scope='mmdet_lite', locations=[location],
                    build_func=build_with_hints)


# Models: backbones, necks, heads, losses, detectors, RoI extractors all share one registry
# (as in mmdetection 2.x's later releases); the 2.x names are aliases of it.
MODELS = _child('model', MMENGINE_MODELS, 'mmdet_lite.models')
# Anchor generators, box coders, assigners, samplers, IoU calculators.
TASK_UTILS = _child('task util', MMENGINE_TASK_UTILS, 'mmdet_lite.core')
DATASETS = _child('dataset', MMENGINE_DATASETS, 'mmdet_lite.datasets')
TRANSFORMS = _child('transform', MMENGINE_TRANSFORMS, 'mmdet_lite.datasets')
DATA_SAMPLERS = _child('data sampler', MMENGINE_DATA_SAMPLERS, 'mmdet_lite.datasets')
FUNCTIONS = _child('function', MMENGINE_FUNCTIONS, 'mmdet_lite.datasets')
# The runner's metrics (DatasetMetric) are engine code: they build datasets.
METRICS = _child('metric', MMENGINE_METRICS, 'mmdet_lite.engine')
EVALUATOR = _child('evaluator', MMENGINE_EVALUATOR, 'mmdet_lite.engine')
HOOKS = _child('hook', MMENGINE_HOOKS, 'mmdet_lite.engine')
LOOPS = _child('loop', MMENGINE_LOOPS, 'mmdet_lite.engine')
OPTIMIZERS = _child('optimizer', MMENGINE_OPTIMIZERS, 'mmdet_lite.engine')
OPTIM_WRAPPERS = _child('optim_wrapper', MMENGINE_OPTIM_WRAPPERS, 'mmdet_lite.engine')
OPTIM_WRAPPER_CONSTRUCTORS = _child('optimizer wrapper constructor',
                                    MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS, 'mmdet_lite.engine')
PARAM_SCHEDULERS = _child('parameter scheduler', MMENGINE_PARAM_SCHEDULERS, 'mmdet_lite.engine')
VISBACKENDS = _child('vis_backend', MMENGINE_VISBACKENDS, 'mmdet_lite.engine')
VISUALIZERS = _child('visualizer', MMENGINE_VISUALIZERS, 'mmdet_lite.engine')
