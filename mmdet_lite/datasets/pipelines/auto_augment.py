"""AutoAugment for detection (mmdetection 2.x ``AutoAugment``) and its level-to-magnitude maps.

A policy is a list of transform configs; each call applies one policy drawn at random. The
policy transforms (``Rotate``, ``Shear``, ``Translate`` in ``geometric.py``; ``ColorTransform``,
``BrightnessTransform``, ``ContrastTransform``, ``EqualizeTransform`` in ``photometric.py``)
take a ``level`` in [0, 10] that these helpers turn into a magnitude.
"""
import copy
from typing import List, Optional

import numpy as np

from ...registry import TRANSFORMS
from .compose import Compose
from ...core.utils.errors import ConfigTypeError, ConfigValueError

MAX_LEVEL = 10


def level_to_value(level: float, max_value: float) -> float:
    """``level / 10 * max_value``."""
    return (level / MAX_LEVEL) * max_value


def enhance_level_to_value(level: float, a: float = 1.8, b: float = 0.1) -> float:
    """Enhancement factor ``level / 10 * a + b`` (level 5 is the identity factor 1.0)."""
    return (level / MAX_LEVEL) * a + b


def random_negative(value: float, random_negative_prob: float) -> float:
    """``-value`` with probability ``random_negative_prob``."""
    return -value if np.random.rand() < random_negative_prob else value


def check_magnitude(transform: str, name: str, value: float) -> None:
    """A transform's magnitude at level 10 (``max_rotate_angle``, ...) must be a number."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigTypeError(f'{transform}: {name} must be a number, got {value!r}')


def check_level_prob(transform: str, level: Optional[float], prob: float) -> None:
    """The 2.x range checks shared by every policy transform."""
    if level is not None:
        if not isinstance(level, (int, float)) or not 0 <= level <= MAX_LEVEL:
            raise ConfigValueError(f'{transform}: level must be a number in [0, {MAX_LEVEL}], '
                                   f'got {level!r}')
    if not 0 <= prob <= 1:
        raise ConfigValueError(f'{transform}: prob must be in [0, 1], got {prob!r}')


@TRANSFORMS.register_module()
class AutoAugment:
    """Apply one randomly chosen policy (a list of transforms) to each sample.

    Args:
        policies: non-empty list of non-empty lists of transform configs (any registered
            transform: the DETR configs use lists of ``Resize`` and ``RandomCrop``).
    """

    def __init__(self, policies: List[List[dict]]):
        if not isinstance(policies, list) or not policies:
            raise ValueError('AutoAugment policies must be a non-empty list of policies')
        for policy in policies:
            if not isinstance(policy, list) or not policy:
                raise ValueError(f'AutoAugment: each policy must be a non-empty list of '
                                 f'transform configs, got {policy!r}')
            for aug in policy:
                if not isinstance(aug, dict) or 'type' not in aug:
                    raise ValueError(f'AutoAugment: each transform must be a dict with a '
                                     f'"type", got {aug!r}')
        self.policies = copy.deepcopy(policies)
        self.transforms = [Compose(policy) for policy in self.policies]

    def __call__(self, results: dict) -> Optional[dict]:
        return self.transforms[np.random.randint(len(self.transforms))](results)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(policies={self.policies})'
