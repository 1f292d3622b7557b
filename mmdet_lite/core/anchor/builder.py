"""mmdetection 2.x names of the prior-generator registry and its builders."""
import warnings
from typing import Any, Optional

from mmdet_lite.registry import TASK_UTILS

PRIOR_GENERATORS = TASK_UTILS
ANCHOR_GENERATORS = TASK_UTILS


def build_prior_generator(cfg: dict, default_args: Optional[dict] = None) -> Any:
    """Build a prior generator (e.g. ``dict(type='AnchorGenerator', ...)``)."""
    return TASK_UTILS.build(cfg, default_args=default_args)


def build_anchor_generator(cfg: dict, default_args: Optional[dict] = None) -> Any:
    """Deprecated name of :func:`build_prior_generator`."""
    warnings.warn('build_anchor_generator is deprecated; use build_prior_generator',
                  DeprecationWarning)
    return build_prior_generator(cfg, default_args=default_args)
