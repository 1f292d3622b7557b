"""Forward parity with mmdetection 2.28 for single modules (backbones, necks, layers).

A fixture ``tests/data/mmdet2_modules/<case>.npz`` is written by mmdetection 2.28 itself
(``notes`` script ``make_fixtures.py`` run in the oracle venv, see ../shared/mmdet2_oracle/). It
holds the module's config (``cfg``, JSON), seeded inputs (``input_<i>``), the module's outputs in
eval mode (``output_<i>``) and, per state-dict entry (names in ``checksum_names``, JSON), a row of
``checksums`` = (number of elements, sum, sum of squares) of the weights 2.28 ran with.

The weights are not stored: both sides fill every floating-point entry with ``seeded_weights``, a
deterministic function of the entry's name and shape (this file is imported by the fixture script,
so there is one definition). The checksums prove the two modules ran with equal weights and have
the same state-dict names and shapes; integer buffers (indices) are compared by checksum as built.
"""
import json
import math
import os.path as osp
import zlib
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import Tensor, nn

FIXTURE_DIR = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'data', 'mmdet2_modules')


def seeded_tensor(name: str, like: Tensor) -> Tensor:
    """Deterministic values for state-dict entry ``name`` (shape/dtype of ``like``).

    Scales keep activations of a deep random network in a sane range: conv/linear weights have
    variance 1/fan_in, norm weights are in [0.5, 1.5), running variances in [0.5, 1.5), biases
    and running means in [-0.1, 0.1); the per-channel affine of AWS convs (``weight_gamma``,
    ``weight_beta``, shaped (C, 1, 1, 1)) is scaled as a norm weight and bias.
    """
    if not like.is_floating_point():
        return like.clone()
    g = torch.Generator().manual_seed(zlib.crc32(name.encode()))
    u = torch.rand(like.shape, generator=g, dtype=torch.float64)
    last = name.rsplit('.', 1)[-1]
    if last in ('running_var', 'weight_gamma') or (last == 'weight' and like.dim() == 1):
        v = 0.5 + u
    elif last == 'weight_beta':
        v = (u - 0.5) * 0.2
    elif like.dim() >= 2:
        fan_in = max(1, math.prod(like.shape[1:]))
        v = (2 * u - 1) * math.sqrt(3.0 / fan_in)
    else:
        v = (u - 0.5) * 0.2
    return v.to(like.dtype)


def seeded_weights(module: nn.Module) -> Dict[str, Tensor]:
    """``seeded_tensor`` for every entry of ``module.state_dict()``."""
    return {k: seeded_tensor(k, v) for k, v in module.state_dict().items()}


def checksum(t: Tensor) -> np.ndarray:
    t = t.detach().double()
    return np.array([t.numel(), t.sum().item(), (t * t).sum().item()], dtype=np.float64)


def _tuples_back(cfg):
    """JSON made ConvModule's ``order`` tuples lists; mmcv insists on a tuple."""
    if isinstance(cfg, dict):
        return {k: tuple(v) if k == 'order' else _tuples_back(v) for k, v in cfg.items()}
    if isinstance(cfg, list):
        return [_tuples_back(v) for v in cfg]
    return cfg


def load_fixture(case: str) -> Tuple[dict, List[Tensor], List[Tensor], Dict[str, np.ndarray]]:
    """``(cfg, inputs, outputs, checksums)`` of ``tests/data/mmdet2_modules/<case>.npz``."""
    path = osp.join(FIXTURE_DIR, f'{case}.npz')
    data = np.load(path)
    cfg = _tuples_back(json.loads(str(data['cfg'])))

    def numbered(prefix: str) -> List[Tensor]:
        n = sum(1 for k in data.files if k.startswith(prefix))
        return [torch.from_numpy(data[f'{prefix}{i}']) for i in range(n)]

    sums = dict(zip(json.loads(str(data['checksum_names'])), data['checksums']))
    return cfg, numbered('input_'), numbered('output_'), sums


def fixture_arch_patch(case: str) -> Optional[Tuple[str, str, list]]:
    """``(type name, key, value)`` added to the class's ``arch_settings`` on both sides, for
    backbones whose only built-in architectures are too big for a fixture (Darknet-53); None
    when the fixture has none."""
    data = np.load(osp.join(FIXTURE_DIR, f'{case}.npz'))
    return tuple(json.loads(str(data['arch_patch']))) if 'arch_patch' in data.files else None


def load_seeded_weights(module: nn.Module, checksums: Dict[str, np.ndarray]) -> None:
    """Fill ``module`` with ``seeded_weights`` (strict) after checking names, shapes and values
    against the 2.28 module's checksums."""
    weights = seeded_weights(module)
    missing = sorted(set(checksums) - set(weights))
    unexpected = sorted(set(weights) - set(checksums))
    assert not missing and not unexpected, \
        f'state dict differs from 2.28: missing {missing[:5]}, unexpected {unexpected[:5]}'
    for k, v in weights.items():
        np.testing.assert_allclose(checksum(v), checksums[k], rtol=1e-6, atol=1e-6,
                                   err_msg=f'{k}: shape or seeded values differ from 2.28')
    module.load_state_dict(weights, strict=True)


def assert_outputs_close(outputs: Sequence[Tensor], expected: Sequence[Tensor],
                         atol: float = 1e-5, rtol: float = 1e-5) -> float:
    """Compare output lists; returns the largest absolute difference."""
    assert len(outputs) == len(expected), f'{len(outputs)} outputs, 2.28 gave {len(expected)}'
    worst = 0.0
    for i, (out, ref) in enumerate(zip(outputs, expected)):
        assert tuple(out.shape) == tuple(ref.shape), \
            f'output {i}: shape {tuple(out.shape)}, 2.28 gave {tuple(ref.shape)}'
        torch.testing.assert_close(out, ref, atol=atol, rtol=rtol, msg=f'output {i} differs')
        worst = max(worst, (out - ref).abs().max().item())
    return worst
