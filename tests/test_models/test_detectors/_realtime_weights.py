"""Weights of the real-time parity fixtures (tests/data/mmdet2_realtime/), shared by the test and
the fixture script (which runs in the mmdetection 2.28 venv, so this module needs only torch).

Seeded weights (:func:`mmdet2_detector_parity.fixture_weights`) leave the features of these
deep, narrow networks small, so every prior would score alike and NMS would break ties by
order; each fixture config names ``parity_gains``, ``{name fragment: factor}``, by which the
matching final predictors' weights are multiplied to spread the scores and boxes.
"""
from typing import Dict, Mapping

from torch import Tensor, nn


def lively_weights(model: nn.Module, weights: Dict[str, Tensor],
                   gains: Mapping[str, float]) -> Dict[str, Tensor]:
    """``weights`` with every ``*.weight`` whose name contains a fragment of ``gains``
    multiplied by its factor (the first matching fragment counts)."""
    out = dict(weights)
    for name, value in weights.items():
        if not name.endswith('.weight'):
            continue
        for fragment, factor in gains.items():
            if fragment in name:
                out[name] = value * factor
                break
    return out
