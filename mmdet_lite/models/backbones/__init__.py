from .csp_darknet import CSPDarknet
from .darknet import Darknet
from .detectors_resnet import DetectoRS_ResNet
from .detectors_resnext import DetectoRS_ResNeXt
from .efficientnet import EfficientNet
from .hourglass import HourglassNet
from .hrnet import HRNet
from .mobilenet_v2 import MobileNetV2
from .pvt import PyramidVisionTransformer, PyramidVisionTransformerV2
from .regnet import RegNet
from .res2net import Res2Net
from .resnest import ResNeSt
from .resnet import ResNet
from .resnet_v1d import ResNetV1d
from .resnext import ResNeXt
from .ssd_vgg import SSDVGG
from .swin import SwinTransformer
from .trident_resnet import TridentResNet

__all__ = ['ResNet', 'ResNetV1d', 'ResNeXt', 'RegNet', 'Res2Net', 'ResNeSt', 'DetectoRS_ResNet',
           'DetectoRS_ResNeXt', 'TridentResNet', 'HRNet', 'SwinTransformer',
           'PyramidVisionTransformer', 'PyramidVisionTransformerV2', 'CSPDarknet', 'Darknet',
           'MobileNetV2', 'HourglassNet', 'EfficientNet', 'SSDVGG']
