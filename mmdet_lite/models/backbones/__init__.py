from .csp_darknet import CSPDarknet
from .hrnet import HRNet
from .pvt import PyramidVisionTransformer
from .pvt import PyramidVisionTransformerV2
from .resnet import ResNet
from .swin import SwinTransformer

__all__ = ['ResNet', 'HRNet', 'SwinTransformer', 'PyramidVisionTransformer', 'PyramidVisionTransformerV2', 'CSPDarknet']
