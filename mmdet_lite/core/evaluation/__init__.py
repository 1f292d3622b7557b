"""mmdetection 2.x's ``mmdet.core.evaluation``: the numpy metrics (VOC-style mAP, proposal
recall, box overlaps) and the class names of the standard datasets.

Pure functions on arrays; the COCO metric glue (pycocotools) is ``mmdet_lite.evaluation`` and
the runner's metric adapter is ``mmdet_lite.engine.DatasetMetric``.
"""
from .bbox_overlaps import bbox_overlaps
from .class_names import coco_classes, get_classes, shapes_classes, voc_classes
from .mean_ap import average_precision, eval_map, print_map_summary, tpfp_default
from .recall import eval_recalls, print_recall_summary

__all__ = [
    'bbox_overlaps', 'coco_classes', 'get_classes', 'shapes_classes', 'voc_classes',
    'average_precision', 'eval_map', 'print_map_summary', 'tpfp_default', 'eval_recalls',
    'print_recall_summary'
]
