"""mmdetection 2.x ``InstaBoost``: recognised, and refused with the reason.

2.x delegated the whole augmentation to the ``instaboostfast`` package, whose last release
(0.1.2) dates from 2019 and which no maintained package replaces; mmdet_lite does not depend on
it. The six 2.x ``configs/instaboost`` configs therefore stop at this transform with an error
that says what to do, instead of an unknown-type error.
"""
from typing import Sequence, Tuple

from ...registry import TRANSFORMS


@TRANSFORMS.register_module()
class InstaBoost:
    """Raises ``NotImplementedError`` when built (see the module docstring).

    The 2.x arguments are accepted so that the message, not a signature error, is what a 2.x
    config meets.
    """

    def __init__(self, action_candidate: Sequence[str] = ('normal', 'horizontal', 'skip'),
                 action_prob: Sequence[float] = (1, 0, 0), scale: Tuple[float, float] = (0.8, 1.2),
                 dx: int = 15, dy: int = 15, theta: Tuple[float, float] = (-1, 1),
                 color_prob: float = 0.5, hflag: bool = False, aug_ratio: float = 0.5):
        raise NotImplementedError(
            'InstaBoost is not supported: 2.x ran it through the instaboostfast package, '
            'unmaintained since 2019, and no maintained package provides it. Remove '
            "dict(type='InstaBoost', ...) from the train pipeline (the instaboost configs then "
            'train as their base Mask R-CNN / Cascade Mask R-CNN configs), or use CopyPaste, '
            'a maintained instance-level copy-paste augmentation, through MultiImageMixDataset.')
