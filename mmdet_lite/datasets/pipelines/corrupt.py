"""Image corruptions of the robustness benchmark in a pipeline (mmdetection 2.x ``Corrupt``).

The corruptions are those of Hendrycks & Dietterich's ImageNet-C as packaged for detection by
Michaelis et al. (``imagecorruptions``, what 2.x uses): 15 benchmark corruptions plus 4
held-out ones, severities 1-5. The original ``imagecorruptions`` (1.1.2, 2020) no longer runs
on current numpy / scikit-image / scipy; its maintained fork ``imagecorruptions-imaug``
(same ``imagecorruptions`` module and functions) does: ``pip install "mmdet_lite[robustness]"``.
It is imported when a ``Corrupt`` is built (it takes seconds to import: numba, scikit-image).
"""
import importlib
from typing import Callable

import numpy as np

from ...registry import TRANSFORMS

CORRUPTIONS = ('gaussian_noise', 'shot_noise', 'impulse_noise', 'defocus_blur', 'glass_blur',
               'motion_blur', 'zoom_blur', 'snow', 'frost', 'fog', 'brightness', 'contrast',
               'elastic_transform', 'pixelate', 'jpeg_compression', 'speckle_noise',
               'gaussian_blur', 'spatter', 'saturate')


def imagecorruptions_corrupt() -> Callable:
    """``imagecorruptions.corrupt``; ImportError naming the extra when it is not installed."""
    try:
        return importlib.import_module('imagecorruptions').corrupt
    except ImportError as err:
        raise ImportError(f'Corrupt needs the imagecorruptions package ({err}); install it '
                          'with: pip install "mmdet_lite[robustness]" (imagecorruptions-imaug, '
                          'the maintained fork)') from None


@TRANSFORMS.register_module()
class Corrupt:
    """Corrupt ``results['img']`` (uint8, H x W x 3, as loaded: BGR, which 2.x passes too)
    with ``corruption`` at ``severity`` (1-5). Randomness comes from numpy's global state.

    Args:
        corruption: One of :data:`CORRUPTIONS`.
        severity: 1 (mild) to 5 (strong).
    """

    def __init__(self, corruption: str, severity: int = 1):
        if corruption not in CORRUPTIONS:
            raise ValueError(f'unknown corruption {corruption!r}; one of {CORRUPTIONS}')
        if severity not in (1, 2, 3, 4, 5):
            raise ValueError(f'severity must be 1..5, got {severity!r}')
        self.corruption = corruption
        self.severity = severity
        self._corrupt = imagecorruptions_corrupt()

    def __call__(self, results: dict) -> dict:
        if results.get('img_fields', ['img']) != ['img']:
            raise ValueError(f"Corrupt handles one image field, got {results['img_fields']}")
        img = np.asarray(results['img'])
        corrupted = self._corrupt(img.astype(np.uint8), corruption_name=self.corruption,
                                  severity=self.severity)
        results['img'] = np.ascontiguousarray(corrupted[:img.shape[0], :img.shape[1]],
                                              dtype=np.uint8)
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(corruption={self.corruption}, severity={self.severity})'
