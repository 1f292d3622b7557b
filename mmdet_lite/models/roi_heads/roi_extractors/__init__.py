from .base_roi_extractor import BaseRoIExtractor
from .generic_roi_extractor import GenericRoIExtractor
from .roi_layers import RoIAlign, RoIPool, build_roi_layer
from .single_level_roi_extractor import SingleRoIExtractor

__all__ = ['BaseRoIExtractor', 'SingleRoIExtractor', 'RoIAlign', 'RoIPool', 'build_roi_layer']
__all__ += ['GenericRoIExtractor']
