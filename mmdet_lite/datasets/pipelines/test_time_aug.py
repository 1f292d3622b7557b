"""Test-time augmentation over scales and flips (mmdetection 2.x ``MultiScaleFlipAug``)."""
import warnings
from typing import List, Sequence, Tuple, Union

from ...registry import TRANSFORMS
from .compose import Compose
from ...core.utils.errors import ConfigValueError


@TRANSFORMS.register_module()
class MultiScaleFlipAug:
    """Run ``transforms`` once per (scale, flip) pair; every output key becomes a list.

    Args:
        transforms: the inner pipeline (usually Resize, RandomFlip, Normalize, Pad,
            ImageToTensor, Collect).
        img_scale: (w, h) or a list of them; exclusive with ``scale_factor``.
        scale_factor: float or list of floats.
        flip: also run flipped versions, one per ``flip_direction``.
    """

    def __init__(self, transforms: Sequence[dict],
                 img_scale: Union[None, Tuple[int, int], List[Tuple[int, int]]] = None,
                 scale_factor: Union[None, float, List[float]] = None, flip: bool = False,
                 flip_direction: Union[str, List[str]] = 'horizontal'):
        self.transforms = Compose(transforms)
        if (img_scale is None) == (scale_factor is None):
            raise ConfigValueError(
                'MultiScaleFlipAug needs exactly one of img_scale and scale_factor')
        if img_scale is not None:
            self.img_scale = img_scale if isinstance(img_scale, list) else [img_scale]
            if not all(isinstance(s, (tuple, list)) and len(s) == 2 for s in self.img_scale):
                raise ConfigValueError(f'MultiScaleFlipAug img_scale={img_scale!r}: give a (w, h) '
                                       'tuple or a list of them, e.g. [(1333, 800)]')
            self.scale_key = 'scale'
        else:
            self.img_scale = scale_factor if isinstance(scale_factor, list) else [scale_factor]
            self.scale_key = 'scale_factor'
        self.flip = flip
        self.flip_direction = flip_direction if isinstance(flip_direction, list) \
            else [flip_direction]
        if not all(isinstance(d, str) for d in self.flip_direction):
            raise ConfigValueError(f'MultiScaleFlipAug flip_direction={flip_direction!r}: give '
                                   "'horizontal', 'vertical', 'diagonal' or a list of them")
        if flip and not any(t.get('type') == 'RandomFlip' for t in transforms
                            if isinstance(t, dict)):
            warnings.warn('MultiScaleFlipAug(flip=True) without a RandomFlip transform: '
                          'images will not be flipped')

    def __call__(self, results: dict) -> dict:
        flip_args = [(False, None)]
        if self.flip:
            flip_args += [(True, d) for d in self.flip_direction]
        aug_data = []
        for scale in self.img_scale:
            for flip, direction in flip_args:
                _results = results.copy()
                _results[self.scale_key] = scale
                _results['flip'] = flip
                _results['flip_direction'] = direction
                aug_data.append(self.transforms(_results))
        return {key: [d[key] for d in aug_data] for key in aug_data[0]}

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(transforms={self.transforms}, img_scale='
                f'{self.img_scale}, flip={self.flip}, flip_direction={self.flip_direction})')
