from .mask_target import mask_target
from .structures import BaseInstanceMasks, BitmapMasks, PolygonMasks, polygon_to_bitmap
from .utils import encode_mask_results, mask2bbox, mask2ndarray, split_combined_polys

__all__ = [
    'BaseInstanceMasks', 'BitmapMasks', 'PolygonMasks', 'polygon_to_bitmap',
    'encode_mask_results', 'mask2bbox', 'mask2ndarray', 'split_combined_polys'
]
__all__ += ['mask_target']
