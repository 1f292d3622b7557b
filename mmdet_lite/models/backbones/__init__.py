from .csp_darknet import CSPDarknet
from .darknet import Darknet
from .hrnet import HRNet
from .mobilenet_v2 import MobileNetV2
from .pvt import PyramidVisionTransformer
from .pvt import PyramidVisionTransformerV2
from .resnet import ResNet
from .swin import SwinTransformer

__all__ = ['ResNet', 'HRNet', 'SwinTransformer', 'PyramidVisionTransformer',
           'PyramidVisionTransformerV2', 'CSPDarknet', 'Darknet', 'MobileNetV2']
