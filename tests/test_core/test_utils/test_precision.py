"""resolve_precision: native reduced precision only where the CPU flags say so; fp32 with the
reason otherwise; forced autocast for accuracy studies."""
import pytest
import torch

from mmdet_lite.core.utils import precision as precision_mod
from mmdet_lite.core.utils.precision import autocast_context, resolve_precision


def test_cpu_without_native_bf16_runs_fp32(monkeypatch):
    monkeypatch.setattr(precision_mod, 'cpu_flags', lambda: frozenset({'avx2', 'avx512f'}))
    dtype, note = resolve_precision('bf16', 'cpu')
    assert dtype is None
    assert 'running fp32 instead of bf16' in note and 'avx512_bf16' in note
    dtype, note = resolve_precision('bf16', 'cpu', force=True)
    assert dtype is torch.bfloat16 and 'forced' in note
    assert resolve_precision('fp16', 'cpu')[0] is None
    assert resolve_precision('fp32', 'cpu') == (None, 'fp32')


def test_cpu_with_native_bf16(monkeypatch):
    monkeypatch.setattr(precision_mod, 'cpu_flags', lambda: frozenset({'avx512_bf16'}))
    dtype, note = resolve_precision('bf16', torch.device('cpu'))
    assert dtype is torch.bfloat16 and 'native' in note
    conv = torch.nn.Conv2d(3, 4, 1)
    with torch.no_grad(), autocast_context('cpu', dtype):
        assert conv(torch.randn(1, 3, 4, 4)).dtype is torch.bfloat16
    with autocast_context('cpu', None):
        assert conv(torch.randn(1, 3, 4, 4)).dtype is torch.float32


def test_bad_precision():
    with pytest.raises(ValueError, match='fp32'):
        resolve_precision('int8')
