from .coarse_mask_head import CoarseMaskHead
from .fcn_mask_head import FCNMaskHead
from .feature_relay_head import FeatureRelayHead
from .fused_semantic_head import FusedSemanticHead
from .global_context_head import GlobalContextHead
from .grid_head import GridHead
from .htc_mask_head import HTCMaskHead
from .mask_point_head import MaskPointHead
from .maskiou_head import MaskIoUHead
from .scnet_mask_head import SCNetMaskHead
from .scnet_semantic_head import SCNetSemanticHead
from .mask_paste import paste_masks_grid_sample, paste_masks_torchvision

__all__ = ['FCNMaskHead', 'paste_masks_grid_sample', 'paste_masks_torchvision']
__all__ += ['HTCMaskHead', 'FusedSemanticHead', 'MaskIoUHead', 'GridHead']
__all__ += ['SCNetMaskHead', 'SCNetSemanticHead', 'GlobalContextHead', 'FeatureRelayHead']
__all__ += ['CoarseMaskHead']
__all__ += ['MaskPointHead']
