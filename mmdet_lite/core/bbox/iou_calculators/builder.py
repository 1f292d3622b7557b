"""mmdetection 2.x name of the IoU-calculator registry and its builder."""
from typing import Any, Optional

from mmdet_lite.registry import TASK_UTILS

IOU_CALCULATORS = TASK_UTILS


def build_iou_calculator(cfg: dict, default_args: Optional[dict] = None) -> Any:
    """Build an IoU calculator (e.g. ``dict(type='BboxOverlaps2D')``) from ``TASK_UTILS``."""
    return TASK_UTILS.build(cfg, default_args=default_args)
