"""Training speed-ups that keep the weights, the state dict and the losses (issue 14).

``tools/train.py`` (through :func:`~mmdet_lite.engine.runtime_config.runner_kwargs`) and
``benchmark.py --train`` apply them to the model before training. mmdet_lite's optional config
key, with its defaults::

    training_speed = dict(fold_frozen_bn=True, channels_last=None)

* ``fold_frozen_bn``: a BN that is in eval mode while the model trains (``norm_eval=True``,
  2.x's ResNet default, its statistics frozen) is one affine map, so the conv before it
  convolves with ``W * gamma / sigma`` and a bias instead
  (:func:`~mmdet_lite.models.utils.fuse_conv_bn.fold_batch_norms`). The folding is
  differentiable, so ``W`` (and a BN weight that trains) gets its gradient through it, and
  neither the BN's forward nor its backward passes over the feature maps any more. A BN in
  training mode runs as before. The state dict keeps every key.
* ``channels_last``: conv weights stored NHWC, so oneDNN runs the convs forward and backward
  without layout conversions; ``None`` = on when training on the CPU (no CUDA device). A
  model whose code ``.view``\\ s an NHWC feature map is switched back to NCHW with a warning
  (:func:`~mmdet_lite.models.utils.memory_format.run_with_nchw_fallback`).

Both change the order of float32 roundings only: losses agree with the plain model to ~1e-6
relative (tested). ``training_speed = dict(fold_frozen_bn=False, channels_last=False)`` trains
exactly as before.
"""
from typing import Any, Mapping, NamedTuple, Optional

import torch
from torch import nn

from ..models.utils.fuse_conv_bn import fold_batch_norms
from ..models.utils.memory_format import set_channels_last

__all__ = ['TrainingSpeedSettings', 'optimize_for_training', 'training_speed_options']

_DEFAULTS = dict(fold_frozen_bn=True, channels_last=None)


class TrainingSpeedSettings(NamedTuple):
    """What :func:`optimize_for_training` did: the (conv, BN) pairs made foldable (each folds
    while its BN is in eval mode, e.g. ``norm_eval``; with a BN that trains it computes as
    before) and whether the conv weights are NHWC."""
    folded_pairs: int
    channels_last: bool


def training_speed_options(value: Optional[Mapping[str, Any]],
                           source: str = 'the config') -> dict:
    """The config's ``training_speed`` dict completed with the defaults; a clear error for an
    unknown key or a value that is not a bool (or None for ``channels_last``)."""
    given = dict(value or {})
    unknown = sorted(set(given) - set(_DEFAULTS))
    if unknown:
        raise KeyError(f'training_speed in {source}: unknown key(s) {unknown}; allowed keys '
                       f'are {sorted(_DEFAULTS)} (e.g. training_speed=dict(channels_last=False))')
    options = {**_DEFAULTS, **given}
    for key, val in options.items():
        if not (isinstance(val, bool) or (val is None and key == 'channels_last')):
            raise TypeError(f'training_speed.{key} in {source} must be True or False'
                            + (' (or None: on when training on the CPU)'
                               if key == 'channels_last' else '') + f', got {val!r}')
    return options


def optimize_for_training(model: nn.Module, fold_frozen_bn: bool = True,
                          channels_last: Optional[bool] = None) -> TrainingSpeedSettings:
    """Apply the speed-ups of the module docstring to ``model`` in place.

    ``channels_last=None``: on when no CUDA device is available (the runner then trains on the
    CPU). The result is also stored as ``model.training_speed``.
    """
    folded = fold_batch_norms(model) if fold_frozen_bn else 0
    if channels_last is None:
        channels_last = not torch.cuda.is_available()
    if channels_last:
        set_channels_last(model, True)
    settings = TrainingSpeedSettings(folded, bool(channels_last))
    model.training_speed = settings
    return settings
