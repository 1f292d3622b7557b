"""``build_plugin_layer``: a ResNet plugin from its config, named as mmcv names it.

Plugins are the ``cfg`` of ResNet's ``plugins=[dict(cfg=..., position='after_conv2',
stages=...)]``: mmcv-lite's ``ContextBlock`` (GCNet), ``GeneralizedAttention`` (empirical
attention), ``NonLocal2d``, and this package's ``DropBlock``. The module name is the class's
``_abbr_`` (``context_block``, ``gen_attention_block``, ``nonlocal_block``) or its snake-cased name
(``drop_block``), plus ``postfix``; the 2.x state-dict keys (``layer2.0.context_block.*``) rely
on it.
"""
import inspect
from typing import Tuple, Union

from mmcv.cnn.bricks.plugin import infer_abbr
from torch import nn

from ...registry import MODELS
from .dropblock import DropBlock  # noqa: F401 (registers 'DropBlock')

PLUGIN_TYPES = ('ContextBlock', 'GeneralizedAttention', 'NonLocal2d', 'DropBlock')


def build_plugin_layer(cfg: dict, postfix: Union[int, str] = '',
                       **kwargs) -> Tuple[str, nn.Module]:
    """Build the plugin of ``cfg``; ``kwargs`` (the block passes ``in_channels``) go to its
    constructor. Returns ``(name, layer)``."""
    if not isinstance(cfg, dict) or 'type' not in cfg:
        raise TypeError(f"a plugin cfg must be a dict with a 'type' key (e.g. "
                        f"dict(type='ContextBlock', ratio=1. / 16)), got {cfg!r}")
    cfg = dict(cfg)
    layer_type = cfg.pop('type')
    layer_cls = layer_type if inspect.isclass(layer_type) else MODELS.get(layer_type)
    if layer_cls is None:
        raise KeyError(f'plugin type {layer_type!r} is unknown; use one of {PLUGIN_TYPES} or '
                       'register your plugin class with @MODELS.register_module()')
    return infer_abbr(layer_cls) + str(postfix), layer_cls(**kwargs, **cfg)
