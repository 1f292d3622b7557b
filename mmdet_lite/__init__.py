"""mmdet_lite: mmdetection-2.x-style detection on mmengine and torchvision.ops."""
from mmengine.utils import digit_version  # 2.x exported its version parser here

from .version import __version__

__all__ = ['__version__', 'digit_version']
