"""The one way a model component keeps a config it was given: a private ``ConfigDict`` copy.

Detectors, dense heads and RoI heads store ``train_cfg`` / ``test_cfg`` with :func:`as_config`,
so that ``cfg.nms`` reads as in 2.x and changing the component's copy never changes the caller's
dict (house style: never mutate a config you were given).
"""
import copy
from typing import Mapping, Optional

from mmengine.config import ConfigDict


def as_config(cfg: Optional[Mapping]) -> Optional[ConfigDict]:
    """A deep copy of ``cfg`` with attribute access (``cfg.nms.iou_threshold``); None stays None.

    Nested dicts become ``ConfigDict`` too; the copy shares nothing with ``cfg``.
    """
    if cfg is None:
        return None
    if not isinstance(cfg, Mapping):
        raise TypeError(f'a model config must be a dict (or ConfigDict), got {type(cfg).__name__}'
                        f' {cfg!r}; write it as dict(key=value, ...)')
    return ConfigDict(copy.deepcopy(dict(cfg)))
