from .mask_heads import FCNMaskHead
from .roi_extractors import BaseRoIExtractor, SingleRoIExtractor

__all__ = ['FCNMaskHead', 'BaseRoIExtractor', 'SingleRoIExtractor']
