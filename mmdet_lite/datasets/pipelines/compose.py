"""Chain pipeline transforms (mmdetection 2.x ``Compose``)."""
import copy
from typing import Callable, List, Optional, Sequence, Union

from ...registry import TRANSFORMS


@TRANSFORMS.register_module()
class Compose:
    """Apply transforms in order; a transform returning ``None`` drops the sample (2.x).

    Args:
        transforms: config dicts (built from ``TRANSFORMS``) or callables.
    """

    def __init__(self, transforms: Sequence[Union[dict, Callable]]):
        if not isinstance(transforms, (list, tuple)):
            raise TypeError(f'Compose takes a list of transforms, got {type(transforms).__name__}')
        self.transforms: List[Callable] = []
        for t in transforms:
            if isinstance(t, dict) or hasattr(t, 'keys'):
                self.transforms.append(TRANSFORMS.build(copy.deepcopy(t)))
            elif callable(t):
                self.transforms.append(t)
            else:
                raise TypeError(f'a transform must be a config dict or callable, got {t!r}')

    def __call__(self, data: dict) -> Optional[dict]:
        for t in self.transforms:
            data = t(data)
            if data is None:
                return None
        return data

    def __repr__(self) -> str:
        inner = ''.join(f'\n    {t}' for t in self.transforms)
        return f'{self.__class__.__name__}({inner}\n)'
