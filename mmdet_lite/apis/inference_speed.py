"""Test-time speed-ups that leave the weights and the results as they are (issue 14).

:func:`optimize_for_inference` prepares a detector that was built for testing
(``init_detector``, ``tools/test.py`` and the benchmark call it by default):

* **BN folding** (``fuse_conv_bn=True``): eval-mode BN layers are folded into the convs before
  them (:func:`~mmdet_lite.models.utils.fuse_conv_bn.fold_batch_norms`); ``state_dict()`` is
  unchanged and training mode computes what it did.
* **channels_last** (``channels_last=None`` = on for CPU): conv weights are stored NHWC, so
  oneDNN runs every conv, and the layers between them, without layout conversions. A model
  whose code reshapes a feature map with ``.view`` (which NHWC strides forbid) is switched back
  to NCHW the first time that happens, with a warning, and the batch is rerun
  (:func:`run_inference`).
* **ReLU fused into the convs** (``fuse_relu=None`` = on with channels_last on the CPU): the
  ReLU after a (BN-folded) conv of a ``ConvModule`` and the add + ReLU that end a ResNet block
  run as oneDNN post-ops of the conv (:func:`~mmdet_lite.models.utils.fuse_conv_relu.
  fuse_conv_relu`): same numbers, fewer passes over the feature maps; ``state_dict()`` is
  unchanged and anything but a float32 NHWC CPU forward without autograd runs as before.
* **reduced precision** (``precision='bf16'|'fp16'``): autocast where the hardware runs it
  natively (:func:`~mmdet_lite.core.utils.precision.resolve_precision`); otherwise fp32 runs,
  and the log says so. Only the networks run autocast: the ``forward`` of the detector's parts
  (backbone, neck, dense heads, the RoI head's box / mask heads) is wrapped and gives fp32
  outputs, so decoding, NMS and mask pasting stay fp32 and results have 2.x's dtypes.

The settings live on the model as ``model.inference_settings`` (an :class:`InferenceSettings`).
"""
import functools
import logging
from typing import Any, Callable, List, NamedTuple, Optional

import torch
from mmengine.logging import print_log
from torch import nn

from ..core.utils.precision import resolve_precision
from ..models.utils.fuse_conv_bn import fold_batch_norms
from ..models.utils.fuse_conv_relu import fuse_conv_relu
from ..models.utils.memory_format import (has_channels_last_weights, run_with_nchw_fallback,
                                         set_channels_last)

__all__ = ['InferenceSettings', 'optimize_for_inference', 'run_inference', 'set_channels_last']


class InferenceSettings(NamedTuple):
    """What :func:`optimize_for_inference` did to a model."""
    folded_pairs: int
    channels_last: bool
    relu_fused: int
    autocast_dtype: Optional[torch.dtype]
    precision_note: str


def _model_device(model: nn.Module) -> torch.device:
    param = next(model.parameters(), None)
    return param.device if param is not None else torch.device('cpu')


def _to_float32(out: Any) -> Any:
    """``out`` with every reduced-precision float tensor in it (in tuples, lists, dicts and
    NamedTuples) cast to float32."""
    if isinstance(out, torch.Tensor):
        return out.float() if out.is_floating_point() and out.dtype != torch.float32 else out
    if isinstance(out, tuple) and hasattr(out, '_fields'):
        return type(out)(*(_to_float32(v) for v in out))
    if isinstance(out, (tuple, list)):
        return type(out)(_to_float32(v) for v in out)
    if isinstance(out, dict):
        return type(out)((k, _to_float32(v)) for k, v in out.items())
    return out


def _autocast_parts(model: nn.Module) -> List[nn.Module]:
    """The parts of a detector whose forward runs autocast: its children with parameters
    (backbone, neck, dense heads) except the RoI head, whose own children are taken instead,
    less the RoI extractors (torchvision's roi_align runs fp32 anyway); module lists are
    expanded (cascade stages). A model without such parts is its own part."""
    parts: List[nn.Module] = []

    def add(module: nn.Module) -> None:
        if isinstance(module, nn.ModuleList):
            for item in module:
                add(item)
        elif next(module.parameters(), None) is not None:
            parts.append(module)

    for name, child in model.named_children():
        if name == 'roi_head':
            for sub_name, sub in child.named_children():
                if 'roi_extractor' not in sub_name:
                    add(sub)
        else:
            add(child)
    return parts or [model]


def _wrap_autocast(module: nn.Module, device_type: str, dtype: torch.dtype) -> None:
    forward = module.forward

    @functools.wraps(forward)
    def autocast_forward(*args, **kwargs):
        with torch.autocast(device_type, dtype=dtype):
            out = forward(*args, **kwargs)
        return _to_float32(out)

    module.forward = autocast_forward


def optimize_for_inference(model: nn.Module, fuse_conv_bn: bool = True,
                           channels_last: Optional[bool] = None, precision: str = 'fp32',
                           force_precision: bool = False,
                           fuse_relu: Optional[bool] = None) -> nn.Module:
    """Prepare ``model`` (in eval mode, on its device) for fast inference, in place.

    Args:
        model: a detector from ``build_detector_from_config``.
        fuse_conv_bn: fold eval-mode BN into the preceding convs.
        channels_last: NHWC conv weights; None = on when the model is on the CPU (on CUDA it
            pays off with fp16/bf16 tensor cores, so it is on there only with ``precision``).
        precision: ``'fp32'``, ``'bf16'`` or ``'fp16'``.
        force_precision: autocast even without native hardware support (to measure accuracy).
        fuse_relu: run ReLUs (and ResNet blocks' residual adds) inside the convs; None = on
            when channels_last is on and the model is on the CPU.

    Returns:
        ``model``, with ``model.inference_settings`` set. Call it once per model, and
        ``copy.deepcopy`` a model before, not after, preparing it with a reduced precision
        (the wrapped forwards belong to the original).
    """
    device = _model_device(model)
    dtype, note = resolve_precision(precision, device, force=force_precision)
    if precision != 'fp32':
        print_log(f'inference precision: {note}', logger='current',
                  level=logging.INFO if dtype is not None else logging.WARNING)
    folded = fold_batch_norms(model) if fuse_conv_bn else 0
    if channels_last is None:
        channels_last = device.type == 'cpu' or dtype is not None
    if channels_last:
        set_channels_last(model, True)
    if fuse_relu is None:
        fuse_relu = bool(channels_last) and device.type == 'cpu'
    relu_fused = fuse_conv_relu(model) if fuse_relu else 0
    if dtype is not None:
        for part in _autocast_parts(model):
            _wrap_autocast(part, device.type, dtype)
    model.inference_settings = InferenceSettings(folded, bool(channels_last), relu_fused, dtype,
                                                 note)
    return model


def run_inference(model: nn.Module, fn: Callable[[], Any]) -> Any:
    """``fn()`` (a forward pass of ``model``) without gradients, with the NCHW fallback of
    channels_last (see the module docstring)."""
    settings: Optional[InferenceSettings] = getattr(model, 'inference_settings', None)
    with torch.no_grad():
        if settings is None or not settings.channels_last:
            return fn()
        out = run_with_nchw_fallback(model, fn)
    if not has_channels_last_weights(model):
        model.inference_settings = settings._replace(channels_last=False)
    return out
