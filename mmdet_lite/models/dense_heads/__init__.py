from .adaptive_conv import AdaptiveConv
from .anchor_free_head import AnchorFreeHead
from .anchor_head import AnchorHead
from .atss_head import ATSSHead
from .autoassign_head import AutoAssignHead
from .base_dense_head import BaseDenseHead
from .cascade_rpn_head import CascadeRPNHead
from .centernet_head import CenterNetHead
from .centripetal_head import CentripetalHead
from .corner_head import CornerHead
from .ddod_head import DDODHead
from .dense_test_mixins import BBoxTestMixin
from .fcos_head import FCOSHead
from .feature_adaption import FeatureAdaption
from .fovea_head import FoveaHead
from .free_anchor_retina_head import FreeAnchorRetinaHead
from .fsaf_head import FSAFHead
from .ga_retina_head import GARetinaHead
from .ga_rpn_head import GARPNHead
from .gfl_head import GFLHead
from .guided_anchor_head import GuidedAnchorHead
from .lad_head import LADHead
from .ld_head import LDHead
from .nasfcos_head import NASFCOSHead
from .paa_head import PAAHead
from .reppoints_head import RepPointsHead
from .retina_head import RetinaHead
from .retina_sepbn_head import RetinaSepBNHead
from .rpn_head import RPNHead
from .sabl_retina_head import SABLRetinaHead
from .ssd_head import SSDHead
from .stage_cascade_rpn_head import StageCascadeRPNHead
from .tood_head import TOODHead
from .vfnet_head import VFNetHead
from .yolo_head import YOLOV3Head
from .yolof_head import YOLOFHead
from .yolox_head import YOLOXHead

# As 2.x's ``__all__``: heads (and FeatureAdaption) only; the BBoxTestMixin and AdaptiveConv
# building blocks stay importable by name but are not heads.
__all__ = ['BaseDenseHead', 'AnchorHead', 'RPNHead', 'RetinaHead',
           'AnchorFreeHead', 'FCOSHead', 'ATSSHead', 'GFLHead', 'YOLOV3Head', 'VFNetHead',
           'TOODHead', 'RepPointsHead', 'FoveaHead', 'PAAHead', 'YOLOXHead', 'NASFCOSHead',
           'FSAFHead', 'SSDHead', 'FreeAnchorRetinaHead', 'AutoAssignHead', 'CenterNetHead',
           'DDODHead', 'YOLOFHead', 'CornerHead', 'FeatureAdaption', 'GuidedAnchorHead',
           'GARPNHead', 'GARetinaHead', 'CentripetalHead', 'StageCascadeRPNHead',
           'CascadeRPNHead', 'RetinaSepBNHead', 'SABLRetinaHead', 'LDHead', 'LADHead']
