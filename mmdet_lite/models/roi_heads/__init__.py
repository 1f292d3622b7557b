from .base_roi_head import BaseRoIHead
from .cascade_roi_head import CascadeRoIHead
from .grid_roi_head import GridRoIHead
from .double_roi_head import DoubleHeadRoIHead
from .dynamic_roi_head import DynamicRoIHead
from .htc_roi_head import HybridTaskCascadeRoIHead
from .mask_scoring_roi_head import MaskScoringRoIHead
from .pisa_roi_head import PISARoIHead
from .point_rend_roi_head import PointRendRoIHead
from .scnet_roi_head import SCNetRoIHead
from .bbox_heads import (BBoxHead, ConvFCBBoxHead, DoubleConvFCBBoxHead, SCNetBBoxHead,
                         Shared2FCBBoxHead, Shared4Conv1FCBBoxHead)
from .mask_heads import (FCNMaskHead, FeatureRelayHead, FusedSemanticHead, GlobalContextHead,
                         GridHead, HTCMaskHead, MaskIoUHead, SCNetMaskHead, SCNetSemanticHead)
from .roi_extractors import BaseRoIExtractor, GenericRoIExtractor, SingleRoIExtractor
from .shared_heads import ResLayer
from .standard_roi_head import StandardRoIHead
from .test_mixins import BBoxTestMixin, MaskTestMixin
from .trident_roi_head import TridentRoIHead

__all__ = [
    'BaseRoIHead', 'StandardRoIHead', 'BBoxTestMixin', 'MaskTestMixin', 'BBoxHead',
    'ConvFCBBoxHead', 'Shared2FCBBoxHead', 'Shared4Conv1FCBBoxHead', 'FCNMaskHead',
    'BaseRoIExtractor', 'SingleRoIExtractor'
]

# the R-CNN family of issue 10
__all__ += ['CascadeRoIHead', 'HybridTaskCascadeRoIHead', 'HTCMaskHead', 'FusedSemanticHead']
__all__ += ['MaskScoringRoIHead', 'MaskIoUHead', 'GenericRoIExtractor']
__all__ += ['GridRoIHead', 'GridHead', 'PISARoIHead']
__all__ += ['DoubleHeadRoIHead', 'DoubleConvFCBBoxHead', 'DynamicRoIHead']
__all__ += ['ResLayer']
__all__ += ['TridentRoIHead']
__all__ += ['SCNetRoIHead', 'SCNetBBoxHead', 'SCNetMaskHead', 'SCNetSemanticHead',
            'GlobalContextHead', 'FeatureRelayHead']
__all__ += ['PointRendRoIHead']
