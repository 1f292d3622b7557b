from .conv_module import ConvModule
from .gt_check import check_gt_bboxes
from .norm import build_norm_layer
from .res_layer import ResLayer

__all__ = ['ConvModule', 'build_norm_layer', 'ResLayer', 'check_gt_bboxes']
