from .mask import (BaseInstanceMasks, BitmapMasks, PolygonMasks, encode_mask_results,
                   mask2ndarray, split_combined_polys)

__all__ = ['BaseInstanceMasks', 'BitmapMasks', 'PolygonMasks', 'encode_mask_results', 'mask2ndarray',
           'split_combined_polys']
