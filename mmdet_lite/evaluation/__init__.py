from .bbox_overlaps import bbox_overlaps
from .class_names import coco_classes, get_classes, shapes_classes, voc_classes
from .coco_eval import (COCO_METRIC_NAMES, CocoEvalOutput, classwise_ap_table, default_iou_thrs,
                        run_coco_eval)
from .dataset_metric import DatasetMetric
from .mean_ap import average_precision, eval_map, print_map_summary, tpfp_default
from .recall import eval_recalls, print_recall_summary

__all__ = [
    'bbox_overlaps', 'coco_classes', 'get_classes', 'shapes_classes', 'voc_classes',
    'COCO_METRIC_NAMES', 'CocoEvalOutput', 'classwise_ap_table', 'default_iou_thrs',
    'run_coco_eval', 'DatasetMetric', 'average_precision', 'eval_map', 'print_map_summary',
    'tpfp_default', 'eval_recalls', 'print_recall_summary'
]
