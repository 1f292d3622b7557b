"""Layers that models put inside their blocks, and the builders that make them from 2.x configs.

What belongs here: conv, norm and plugin layers and their builders (``conv_cfg``, ``norm_cfg``,
ResNet ``plugins=``), each in its own file. Blocks made of several layers (``ResLayer``,
``ConvModule``) live in ``models/utils``; whole networks in ``backbones``/``necks``/heads.

From mmcv-lite (pure Python, identical to mmcv 1.7's, registered by mmcv under the 2.x names):
``ConvWS2d`` ('ConvWS'), ``ConvAWS2d`` ('ConvAWS'), ``ContextBlock``, ``GeneralizedAttention``,
``NonLocal2d``. Written here: deformable conv v1/v2 ('DCN'/'DCNv2', on torchvision.ops), 'SAC',
'SyncBN' that also syncs on CPU, ``DropBlock``.
"""
from mmcv.cnn import ContextBlock, ConvAWS2d, ConvWS2d, GeneralizedAttention, NonLocal2d

from .carafe import CARAFE, CARAFEPack, carafe
from .conv import build_conv_layer
from .deform_conv import DeformConv2d, DeformConv2dPack, deform_conv2d
from .deform_roi_pool import (DeformRoIPool, DeformRoIPoolPack, ModulatedDeformRoIPoolPack,
                              deform_roi_pool)
from .dropblock import DropBlock
from .masked_conv import MaskedConv2d, masked_conv2d
from .norm import build_norm_layer
from .normed_predictor import NormedConv2d, NormedLinear, build_linear_layer
from .modulated_deform_conv import (ModulatedDeformConv2d, ModulatedDeformConv2dPack,
                                    modulated_deform_conv2d)
from .plugin import build_plugin_layer
from .point_sample import point_sample, rel_roi_point_to_rel_img_point
from .saconv import SAConv2d
from .scale import Scale
from .sync_bn import SyncBatchNorm

__all__ = ['build_conv_layer', 'build_norm_layer', 'build_plugin_layer', 'DeformConv2d',
           'DeformConv2dPack', 'deform_conv2d', 'ModulatedDeformConv2d',
           'ModulatedDeformConv2dPack', 'modulated_deform_conv2d', 'SAConv2d', 'SyncBatchNorm',
           'DropBlock', 'ConvWS2d', 'ConvAWS2d', 'ContextBlock', 'GeneralizedAttention',
           'NonLocal2d', 'CARAFE', 'CARAFEPack', 'carafe']
__all__ += ['Scale']
__all__ += ['DeformRoIPool', 'DeformRoIPoolPack', 'ModulatedDeformRoIPoolPack', 'deform_roi_pool']
__all__ += ['NormedLinear', 'NormedConv2d', 'build_linear_layer']
__all__ += ['MaskedConv2d', 'masked_conv2d']
__all__ += ['point_sample', 'rel_roi_point_to_rel_img_point']
