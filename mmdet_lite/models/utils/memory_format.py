"""NHWC (``channels_last``) conv weights, and the NCHW fallback for code that cannot take them.

oneDNN runs a CPU convolution fastest on NHWC tensors, and a conv returns the layout of its
weight, so storing the conv weights NHWC makes the feature maps NHWC too. Code that reshapes a
feature map with ``.view`` where NHWC strides forbid it fails with :data:`VIEW_ERROR`;
:func:`run_with_nchw_fallback` catches that once, switches the model back to NCHW with a
warning, and reruns.
"""
import warnings
from typing import Any, Callable

import torch
from torch import nn

__all__ = ['VIEW_ERROR', 'set_channels_last', 'has_channels_last_weights',
           'run_with_nchw_fallback']

#: The message of ``Tensor.view`` on strides it cannot view.
VIEW_ERROR = 'view size is not compatible with input tensor'


def _convs(model: nn.Module):
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)) and module.weight.dim() == 4:
            yield module


def set_channels_last(model: nn.Module, enabled: bool = True) -> int:
    """Store the weights of every 2-d (transposed) conv of ``model`` NHWC (``enabled``) or NCHW.

    Only conv weights change layout (their values, ``state_dict()`` and the Parameter objects
    an optimizer holds stay the same); the activations follow. Returns the number of convs.
    """
    fmt = torch.channels_last if enabled else torch.contiguous_format
    changed = 0
    with torch.no_grad():
        for module in _convs(model):
            module.weight.data = module.weight.data.contiguous(memory_format=fmt)
            changed += 1
    return changed


def has_channels_last_weights(model: nn.Module) -> bool:
    """Whether any conv weight of ``model`` is stored NHWC (and not also NCHW-contiguous)."""
    return any(not m.weight.is_contiguous()
               and m.weight.is_contiguous(memory_format=torch.channels_last)
               for m in _convs(model))


def run_with_nchw_fallback(model: nn.Module, fn: Callable[[], Any]) -> Any:
    """``fn()`` (a forward of ``model``); if it fails with :data:`VIEW_ERROR` while ``model``
    has NHWC conv weights, switch them to NCHW for good, warn, and run ``fn()`` again."""
    try:
        return fn()
    except RuntimeError as err:
        if VIEW_ERROR not in str(err) or not has_channels_last_weights(model):
            raise
    warnings.warn(f'{type(model).__name__} reshapes a channels_last feature map with .view '
                  f'({VIEW_ERROR}); running it with NCHW conv weights from now on (set '
                  'channels_last=False to skip this retry)')
    set_channels_last(model, False)
    return fn()
