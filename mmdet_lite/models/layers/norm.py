"""Normalisation-layer builder: ``dict(type='BN'|'SyncBN'|'GN', requires_grad=True, ...)``.

``mmcv.cnn.build_norm_layer`` (pure Python in mmcv-lite) returns ``(name, layer)`` with the
mmcv abbreviation (``bn``/``gn``) plus an optional postfix (``bn1``), which is what the 2.x
state-dict names rely on; this module adds a check that names the bad key, and resolves the type
in mmdet_lite's registry first, so that ``'SyncBN'`` is ``layers.sync_bn.SyncBatchNorm`` (plain BN
in one process, synchronised under DDP on GPU and on CPU).
"""
from typing import Tuple, Union

from mmcv.cnn import build_norm_layer as _mmcv_build_norm_layer
from torch import nn

from ...registry import MODELS
from .sync_bn import SyncBatchNorm  # noqa: F401 (registers 'SyncBN')

_KNOWN_NORMS = ('BN', 'BN1d', 'BN2d', 'BN3d', 'SyncBN', 'GN', 'LN', 'IN', 'IN1d', 'IN2d', 'IN3d')


def build_norm_layer(cfg: dict, num_features: int,
                     postfix: Union[int, str] = '') -> Tuple[str, nn.Module]:
    """Build a norm layer of ``num_features`` channels; returns ``(name, layer)``.

    Example: ``build_norm_layer(dict(type='BN'), 64, postfix=1)`` → ``('bn1', BatchNorm2d(64))``.
    """
    if not isinstance(cfg, dict) or 'type' not in cfg:
        raise TypeError(f"norm_cfg must be a dict with a 'type' key (e.g. dict(type='BN')), "
                        f'got {cfg!r}')
    if cfg['type'] == 'GN' and 'num_groups' not in cfg:
        raise KeyError(f"norm_cfg {dict(cfg)!r} of type 'GN' needs num_groups, e.g. "
                       "dict(type='GN', num_groups=32, requires_grad=True)")
    if cfg['type'] == 'GN' and num_features % cfg['num_groups'] != 0:
        raise ValueError(f"GroupNorm with num_groups={cfg['num_groups']} cannot normalise "
                         f'{num_features} channels: pick num_groups dividing {num_features}')
    if isinstance(cfg['type'], str) and cfg['type'] not in _KNOWN_NORMS:
        raise KeyError(f"norm_cfg type {cfg['type']!r} is unknown; use one of {_KNOWN_NORMS}")
    layer_cls = MODELS.get(cfg['type']) if isinstance(cfg['type'], str) else cfg['type']
    return _mmcv_build_norm_layer(dict(cfg, type=layer_cls), num_features, postfix=postfix)
