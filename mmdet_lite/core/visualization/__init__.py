from .image import (color_val_matplotlib, has_display, imshow_det_bboxes, imshow_det_result,
                    imshow_gt_det_bboxes)
from .palette import color_val_rgb, get_palette, palette_val
from .results import unpack_det_result

__all__ = ['imshow_det_bboxes', 'imshow_det_result', 'imshow_gt_det_bboxes',
           'color_val_matplotlib', 'get_palette', 'palette_val', 'color_val_rgb',
           'unpack_det_result', 'has_display']
