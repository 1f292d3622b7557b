from .conv_module import ConvModule
from .norm import build_norm_layer
from .res_layer import ResLayer

__all__ = ['ConvModule', 'build_norm_layer', 'ResLayer']
