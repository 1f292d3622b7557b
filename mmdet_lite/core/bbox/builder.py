"""mmdetection 2.x names of the assigner / sampler / coder registries and their builders."""
from typing import Any

from mmdet_lite.registry import TASK_UTILS

BBOX_ASSIGNERS = TASK_UTILS
BBOX_SAMPLERS = TASK_UTILS
BBOX_CODERS = TASK_UTILS


def build_assigner(cfg: dict, **default_args) -> Any:
    """Build an assigner (e.g. ``dict(type='MaxIoUAssigner', ...)``); keyword arguments are
    default args."""
    return TASK_UTILS.build(cfg, default_args=default_args)


def build_sampler(cfg: dict, **default_args) -> Any:
    """Build a sampler; keyword arguments (e.g. ``context=roi_head``) are default args."""
    return TASK_UTILS.build(cfg, default_args=default_args)


def build_bbox_coder(cfg: dict, **default_args) -> Any:
    """Build a box coder (e.g. ``dict(type='DeltaXYWHBBoxCoder', ...)``)."""
    return TASK_UTILS.build(cfg, default_args=default_args)
