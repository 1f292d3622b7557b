"""mmdetection 2.x registry names and builder functions for models."""
import copy
import warnings
from typing import Optional, Sequence, Union

from mmengine.model import Sequential
from torch import nn

from ..registry import MODELS

BACKBONES = MODELS
NECKS = MODELS
HEADS = MODELS
LOSSES = MODELS
DETECTORS = MODELS
ROI_EXTRACTORS = MODELS
SHARED_HEADS = MODELS


def build_backbone(cfg: dict) -> nn.Module:
    return BACKBONES.build(cfg)


def build_neck(cfg: Union[dict, Sequence[dict]]) -> nn.Module:
    """A neck; a list of neck configs is chained in a ``Sequential`` (``neck.0``, ``neck.1``,
    ...), as mmdetection 2.x builds them."""
    if isinstance(cfg, (list, tuple)):
        return Sequential(*(NECKS.build(c) for c in cfg))
    return NECKS.build(cfg)


def build_roi_extractor(cfg: dict) -> nn.Module:
    return ROI_EXTRACTORS.build(cfg)


def build_shared_head(cfg: dict) -> nn.Module:
    return SHARED_HEADS.build(cfg)


def build_head(cfg: dict) -> nn.Module:
    return HEADS.build(cfg)


def build_loss(cfg: dict) -> nn.Module:
    return LOSSES.build(cfg)


def build_detector(cfg: dict, train_cfg: Optional[dict] = None,
                   test_cfg: Optional[dict] = None) -> nn.Module:
    """Build a detector; ``train_cfg``/``test_cfg`` outside ``cfg`` are the 2.x legacy form."""
    cfg = copy.deepcopy(cfg)
    if train_cfg is not None or test_cfg is not None:
        warnings.warn('train_cfg and test_cfg belong inside the model config (model.train_cfg, '
                      'model.test_cfg); passing them to build_detector is deprecated')
    for key, value in (('train_cfg', train_cfg), ('test_cfg', test_cfg)):
        if value is None:
            continue
        if cfg.get(key) is not None:
            raise ValueError(f'{key} is given both in the model config and as an argument '
                             f'to build_detector; keep only the one in model.{key}')
        cfg[key] = value
    return DETECTORS.build(cfg)
