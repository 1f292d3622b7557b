"""mmdet_lite: mmdetection-2.x-style detection on mmengine and torchvision.ops."""
from .version import __version__

__all__ = ['__version__']
