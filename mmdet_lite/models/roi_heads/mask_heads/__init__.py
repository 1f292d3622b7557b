from .fcn_mask_head import FCNMaskHead
from .fused_semantic_head import FusedSemanticHead
from .grid_head import GridHead
from .htc_mask_head import HTCMaskHead
from .maskiou_head import MaskIoUHead
from .mask_paste import paste_masks_grid_sample, paste_masks_torchvision

__all__ = ['FCNMaskHead', 'paste_masks_grid_sample', 'paste_masks_torchvision']
__all__ += ['HTCMaskHead', 'FusedSemanticHead', 'MaskIoUHead', 'GridHead']
