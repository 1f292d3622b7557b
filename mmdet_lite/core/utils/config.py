"""The one way a model component keeps a config it was given: a private ``ConfigDict`` copy.

Detectors, dense heads and RoI heads store ``train_cfg`` / ``test_cfg`` with :func:`as_config`,
so that ``cfg.nms`` reads as in 2.x and changing the component's copy never changes the caller's
dict (house style: never mutate a config you were given).
"""
import copy
from typing import List, Mapping, Optional, Sequence, Union

from mmengine.config import Config, ConfigDict


def as_config(cfg: Optional[Union[Mapping, Sequence[Mapping]]]
              ) -> Optional[Union[ConfigDict, List[ConfigDict]]]:
    """A deep copy of ``cfg`` with attribute access (``cfg.nms.iou_threshold``); None stays None.

    Nested dicts become ``ConfigDict`` too; the copy shares nothing with ``cfg``. A list of
    dicts (2.x's per-stage ``train_cfg.rcnn`` of Cascade R-CNN) becomes a list of copies. A whole
    ``Config`` (2.x code wraps ``mmcv.Config(dict(...))``) is read as its dict.
    """
    if cfg is None:
        return None
    if isinstance(cfg, Config):
        cfg = cfg.to_dict()
    if isinstance(cfg, (list, tuple)) and all(isinstance(c, Mapping) for c in cfg):
        return [ConfigDict(copy.deepcopy(dict(c))) for c in cfg]
    if not isinstance(cfg, Mapping):
        raise TypeError(f'a model config must be a dict (or ConfigDict) or a list of dicts, got '
                        f'{type(cfg).__name__} {cfg!r}; write it as dict(key=value, ...)')
    return ConfigDict(copy.deepcopy(dict(cfg)))
