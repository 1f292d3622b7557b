from .hrnet import HRNet
from .resnet import ResNet

__all__ = ['ResNet', 'HRNet']
