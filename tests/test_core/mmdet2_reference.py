"""mmdetection 2.28's outputs for the core units, from tests/data/mmdet2_core/reference.npz
(written by tests/data/mmdet2_core/generate.py in the oracle's venv)."""
import os
from functools import lru_cache
from typing import Dict

import numpy as np
import torch

REFERENCE = os.path.join(os.path.dirname(__file__), '..', 'data', 'mmdet2_core', 'reference.npz')


@lru_cache(maxsize=1)
def _arrays() -> Dict[str, np.ndarray]:
    with np.load(REFERENCE) as data:
        return {key: data[key] for key in data.files}


def reference(case: str) -> Dict[str, torch.Tensor]:
    """The arrays of ``case`` (key prefix ``case/``) as tensors, keyed by the rest of the key."""
    prefix = case + '/'
    found = {key[len(prefix):]: torch.from_numpy(value)
             for key, value in _arrays().items() if key.startswith(prefix)}
    if not found:
        raise KeyError(f'no case {case!r} in {REFERENCE}; regenerate it with '
                       'tests/data/mmdet2_core/generate.py')
    return found


def assert_assign_equal(result, expected: Dict[str, torch.Tensor]) -> None:
    """``gt_inds`` and ``labels`` equal, ``max_overlaps`` close (both None or both set)."""
    assert torch.equal(result.gt_inds, expected['gt_inds'].long())
    if 'labels' in expected:
        assert torch.equal(result.labels, expected['labels'].long())
    else:
        assert result.labels is None
    if 'max_overlaps' in expected:
        torch.testing.assert_close(result.max_overlaps.float(), expected['max_overlaps'].float(),
                                   rtol=1e-5, atol=1e-6)
    else:
        assert result.max_overlaps is None
