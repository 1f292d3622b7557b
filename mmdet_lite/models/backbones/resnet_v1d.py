"""ResNetV1d (He et al., "Bag of Tricks", 2019): ResNet with a deep stem of three 3x3 convs
(``stem.*`` instead of ``conv1``/``bn1``) and AvgPool shortcuts (``downsample.1`` is the conv)."""
from ..builder import BACKBONES
from .resnet import ResNet


@BACKBONES.register_module()
class ResNetV1d(ResNet):
    """``ResNet(deep_stem=True, avg_down=True, **kwargs)``; ``kwargs`` are ResNet's other
    arguments."""

    def __init__(self, **kwargs):
        for fixed in ('deep_stem', 'avg_down'):
            if fixed in kwargs:
                raise TypeError(f'ResNetV1d always has {fixed}=True; do not pass {fixed} (use '
                                "type='ResNet' to choose it)")
        super().__init__(deep_stem=True, avg_down=True, **kwargs)
