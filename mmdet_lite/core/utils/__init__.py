"""Tensor helpers that heads share, at mmdetection 2.x's path ``mmdet.core.utils``.

What belongs here: small, model-agnostic functions over tensors and lists that several heads
call and that are part of 2.x's import surface: ``multi_apply`` (over FPN levels or images
only), ``unmap``, ``select_single_mlvl``, ``filter_scores_and_topk``, ``sorted_topk``,
``flip_tensor``, ``center_of_mass``, ``generate_coordinate``, ``is_tracing`` (``misc.py``) and ``reduce_mean``
across ranks (``dist_utils.py``); ``as_config``, the one way a component keeps a config it was given
(``config.py``); ``mask2ndarray`` is re-exported from ``core/mask``. A helper used by one
family lives with that family; anything with a concept of its own (boxes, anchors, masks,
post-processing) has its own package under ``core/``. Nothing here imports ``models``.
"""
from ..mask.utils import mask2ndarray
from .config import as_config
from .dist_utils import reduce_mean
from .misc import (center_of_mass, filter_scores_and_topk, flip_tensor, generate_coordinate,
                   is_tracing, multi_apply, select_single_mlvl, sorted_topk, unmap)

__all__ = [
    'as_config', 'multi_apply', 'unmap', 'reduce_mean', 'flip_tensor', 'select_single_mlvl',
    'filter_scores_and_topk', 'sorted_topk', 'center_of_mass', 'generate_coordinate',
    'mask2ndarray', 'is_tracing'
]
