"""Detection metrics: the COCO evaluation glue (pycocotools or faster-coco-eval, tables) and,
re-exported from ``mmdet_lite.core.evaluation``, the numpy VOC mAP / recall / overlaps and the
dataset class names. No runner code: the runner's metric adapter is ``mmdet_lite.engine``'s."""
from ..core.evaluation import (average_precision, bbox_overlaps, coco_classes, eval_map,
                               eval_recalls, get_classes, print_map_summary, print_recall_summary,
                               shapes_classes, tpfp_default, voc_classes)
from .coco_eval import (COCO_METRIC_NAMES, CocoEvalOutput, classwise_ap_table, default_iou_thrs,
                        resolve_backend, run_coco_eval)

__all__ = [
    'bbox_overlaps', 'coco_classes', 'get_classes', 'shapes_classes', 'voc_classes',
    'COCO_METRIC_NAMES', 'CocoEvalOutput', 'classwise_ap_table', 'default_iou_thrs',
    'run_coco_eval', 'resolve_backend', 'average_precision', 'eval_map', 'print_map_summary',
    'tpfp_default', 'eval_recalls', 'print_recall_summary'
]
