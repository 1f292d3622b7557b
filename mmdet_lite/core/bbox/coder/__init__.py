from .base_bbox_coder import BaseBBoxCoder
from .bucketing_bbox_coder import BucketingBBoxCoder
from .delta_xywh_bbox_coder import DeltaXYWHBBoxCoder, bbox2delta, delta2bbox
from .distance_point_bbox_coder import DistancePointBBoxCoder
from .legacy_delta_xywh_bbox_coder import LegacyDeltaXYWHBBoxCoder
from .pseudo_bbox_coder import PseudoBBoxCoder
from .tblr_bbox_coder import TBLRBBoxCoder
from .yolo_bbox_coder import YOLOBBoxCoder

__all__ = [
    'BaseBBoxCoder', 'DeltaXYWHBBoxCoder', 'bbox2delta', 'delta2bbox', 'BucketingBBoxCoder',
    'DistancePointBBoxCoder', 'LegacyDeltaXYWHBBoxCoder', 'PseudoBBoxCoder', 'TBLRBBoxCoder',
    'YOLOBBoxCoder'
]
