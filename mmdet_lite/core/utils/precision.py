"""Which reduced precision the hardware runs natively, and the autocast context for inference.

``precision`` is one of ``'fp32'``, ``'bf16'``, ``'fp16'``. :func:`resolve_precision` turns it
into the autocast dtype for a device, or None (plain fp32) with the reason:

* CUDA: fp16 always; bf16 where ``torch.cuda.is_bf16_supported()`` (Ampere and newer).
* CPU: bf16 only where the CPU has bf16 dot-product instructions (``avx512_bf16`` or
  ``amx_bf16`` among the ``/proc/cpuinfo`` flags); fp16 only with ``avx512_fp16`` or
  ``amx_fp16``. Elsewhere oneDNN emulates them, which is slower than fp32 (measured 2.1x slower
  for Mask R-CNN R50-FPN on an AVX-512 Xeon without bf16), so fp32 runs instead.

``force=True`` autocasts even without native support: only to measure the accuracy cost of a
precision on a machine that cannot run it fast.
"""
import functools
import os
from contextlib import nullcontext
from typing import ContextManager, FrozenSet, Optional, Tuple, Union

import torch

__all__ = ['PRECISIONS', 'cpu_flags', 'cpu_native_dtypes', 'resolve_precision',
           'autocast_context']

PRECISIONS = ('fp32', 'bf16', 'fp16')
_DTYPES = dict(bf16=torch.bfloat16, fp16=torch.float16)
_CPU_FLAGS_FOR = dict(bf16=('avx512_bf16', 'amx_bf16'), fp16=('avx512_fp16', 'amx_fp16'))


@functools.lru_cache(maxsize=1)
def cpu_flags() -> FrozenSet[str]:
    """The CPU feature flags of ``/proc/cpuinfo`` (empty where that file does not exist)."""
    if not os.path.isfile('/proc/cpuinfo'):
        return frozenset()
    with open('/proc/cpuinfo') as f:
        for line in f:
            if line.startswith(('flags', 'Features')):
                return frozenset(line.split(':', 1)[1].split())
    return frozenset()


def cpu_native_dtypes() -> Tuple[str, ...]:
    """The reduced precisions (``'bf16'``, ``'fp16'``) this CPU computes natively."""
    flags = cpu_flags()
    return tuple(name for name, needed in _CPU_FLAGS_FOR.items()
                 if any(flag in flags for flag in needed))


def resolve_precision(precision: str, device: Union[str, torch.device] = 'cpu',
                      force: bool = False) -> Tuple[Optional[torch.dtype], str]:
    """(autocast dtype or None for fp32, a sentence saying what runs and why).

    Args:
        precision: ``'fp32'``, ``'bf16'`` or ``'fp16'``.
        device: where the model runs.
        force: autocast even where the hardware has no native support (accuracy studies).
    """
    if precision not in PRECISIONS:
        raise ValueError(f'precision={precision!r}; use one of {PRECISIONS}')
    if precision == 'fp32':
        return None, 'fp32'
    device = torch.device(device)
    dtype = _DTYPES[precision]
    if device.type == 'cuda':
        if precision == 'bf16' and not torch.cuda.is_bf16_supported():
            reason = f'{torch.cuda.get_device_name(device)} has no bf16 support'
        else:
            return dtype, f'{precision} autocast on {device}'
    elif device.type == 'cpu':
        if precision in cpu_native_dtypes():
            return dtype, f'{precision} autocast on the CPU (native {precision} instructions)'
        needed = ' / '.join(_CPU_FLAGS_FOR[precision])
        reason = (f'this CPU has no native {precision} ({needed} not among its flags): '
                  'emulated it is slower than fp32')
    else:
        reason = f'no {precision} autocast for device type {device.type!r}'
    if force:
        return dtype, f'{precision} autocast forced although {reason}'
    return None, f'running fp32 instead of {precision}: {reason}'


def autocast_context(device: Union[str, torch.device],
                     dtype: Optional[torch.dtype]) -> ContextManager:
    """``torch.autocast`` to ``dtype`` on ``device``'s type, or a no-op when ``dtype`` is None."""
    if dtype is None:
        return nullcontext()
    return torch.autocast(torch.device(device).type, dtype=dtype)
