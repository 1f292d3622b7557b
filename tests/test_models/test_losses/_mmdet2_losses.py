"""mmdetection 2.28's outputs of the losses on fixed inputs (tests/data/mmdet2_losses, made by
its generate.py with the 2.28 oracle)."""
from pathlib import Path

import numpy as np
import torch

_PATH = Path(__file__).resolve().parents[2] / 'data' / 'mmdet2_losses' / 'reference.npz'
_DATA = np.load(_PATH)


def ref(key: str) -> torch.Tensor:
    """The stored array ``<case>/<name>`` as a tensor."""
    return torch.from_numpy(_DATA[key])


def check_reductions(case: str, loss, pred, target, weight, atol: float = 1e-6,
                     **extra) -> None:
    """``loss`` equals 2.28's without weight, with weight, with avg_factor=3.5 and with the
    'none' / 'sum' overrides (see ``reductions`` in generate.py)."""
    got = dict(out_plain=loss(pred, target, **extra),
               out_weight=loss(pred, target, weight, **extra),
               out_avg=loss(pred, target, weight, avg_factor=3.5, **extra),
               out_none=loss(pred, target, weight, reduction_override='none', **extra),
               out_sum=loss(pred, target, weight, reduction_override='sum', **extra))
    for name, value in got.items():
        expected = ref(f'{case}/{name}')
        assert value.shape == expected.shape, (case, name)
        assert torch.allclose(value, expected, rtol=1e-5, atol=atol), (case, name, value,
                                                                       expected)
