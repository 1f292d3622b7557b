"""``build_conv_layer``: a conv layer from a 2.x ``conv_cfg``.

``None`` or ``dict(type='Conv')`` is ``nn.Conv2d``; ``'ConvWS'`` / ``'ConvAWS'`` are mmcv-lite's
weight-standardised convs; ``'DCN'`` / ``'DCNv2'`` / ``'SAC'`` are this package's deformable and
switchable-atrous convs. Types resolve in mmdet_lite's model registry, which falls back to
mmengine's root registry where mmcv registers its layers (and where this package registers the
mmcv-named ops mmcv-lite lacks, so that ``mmcv.cnn.ConvModule`` finds them in any scope).
"""
import inspect
from typing import Optional

from torch import nn

from ...registry import MODELS

CONV_TYPES = ('Conv', 'Conv1d', 'Conv2d', 'Conv3d', 'ConvWS', 'ConvAWS', 'DCN', 'DCNv2', 'SAC')


def build_conv_layer(cfg: Optional[dict], *args, **kwargs) -> nn.Module:
    """Build the conv of ``cfg`` (``None`` → ``nn.Conv2d``) with ``nn.Conv2d``-style arguments.

    Extra keys of ``cfg`` (e.g. ``deform_groups=4`` of ``dict(type='DCNv2', deform_groups=4)``)
    are passed to the layer; ``cfg`` itself is not modified.
    """
    if cfg is None:
        return nn.Conv2d(*args, **kwargs)
    if not isinstance(cfg, dict) or 'type' not in cfg:
        raise TypeError(f"conv_cfg must be None or a dict with a 'type' key (e.g. "
                        f"dict(type='DCNv2', deform_groups=1)), got {cfg!r}")
    cfg = dict(cfg)
    layer_type = cfg.pop('type')
    layer_cls = layer_type if inspect.isclass(layer_type) else MODELS.get(layer_type)
    if layer_cls is None:
        raise KeyError(f'conv_cfg type {layer_type!r} is unknown; use one of {CONV_TYPES} or '
                       'register your conv class with @MODELS.register_module()')
    return layer_cls(*args, **kwargs, **cfg)
