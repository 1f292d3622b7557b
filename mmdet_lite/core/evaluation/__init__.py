"""mmdetection 2.x import path ``mmdet.core.evaluation``; the code lives in ``mmdet_lite.evaluation``."""
from ...evaluation import (average_precision, bbox_overlaps, coco_classes, eval_map, eval_recalls,
                           get_classes, print_map_summary, print_recall_summary, voc_classes)

__all__ = [
    'average_precision', 'bbox_overlaps', 'coco_classes', 'eval_map', 'eval_recalls',
    'get_classes', 'print_map_summary', 'print_recall_summary', 'voc_classes'
]
