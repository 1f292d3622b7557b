from .assigners import (ApproxMaxIoUAssigner, AssignResult, ATSSAssigner, BaseAssigner,
                        CenterRegionAssigner, GridAssigner, MaxIoUAssigner, PointAssigner,
                        RegionAssigner, SimOTAAssigner, TaskAlignedAssigner,
                        UniformAssigner)
from .builder import (BBOX_ASSIGNERS, BBOX_CODERS, BBOX_SAMPLERS, build_assigner,
                      build_bbox_coder, build_sampler)
from .coder import (BaseBBoxCoder, BucketingBBoxCoder, DeltaXYWHBBoxCoder,
                    DistancePointBBoxCoder, LegacyDeltaXYWHBBoxCoder, PseudoBBoxCoder,
                    TBLRBBoxCoder, YOLOBBoxCoder, bbox2delta, delta2bbox)
from .iou_calculators import IOU_CALCULATORS, BboxOverlaps2D, bbox_overlaps, build_iou_calculator
from .samplers import BaseSampler, PseudoSampler, RandomSampler, SamplingResult
from .samplers import (CombinedSampler, InstanceBalancedPosSampler, IoUBalancedNegSampler,
                       OHEMSampler, ScoreHLRSampler)
from .transforms import bbox2distance, distance2bbox, find_inside_bboxes
from .transforms import (bbox2result, bbox2roi, bbox_cxcywh_to_xyxy, bbox_flip, bbox_mapping,
                         bbox_mapping_back, bbox_rescale, bbox_xyxy_to_cxcywh, roi2bbox)
from .scale_factor import scale_factor_tensor

__all__ = [
    'AssignResult', 'BaseAssigner', 'MaxIoUAssigner', 'BBOX_ASSIGNERS', 'BBOX_CODERS',
    'BBOX_SAMPLERS', 'build_assigner', 'build_bbox_coder', 'build_sampler', 'BaseBBoxCoder',
    'DeltaXYWHBBoxCoder', 'bbox2delta', 'delta2bbox', 'IOU_CALCULATORS', 'BboxOverlaps2D',
    'bbox_overlaps', 'build_iou_calculator', 'BaseSampler', 'PseudoSampler', 'RandomSampler',
    'SamplingResult', 'bbox2result', 'bbox2roi', 'bbox_cxcywh_to_xyxy', 'bbox_flip',
    'bbox_mapping', 'bbox_mapping_back', 'bbox_rescale', 'bbox_xyxy_to_cxcywh', 'roi2bbox',
    'scale_factor_tensor'
]

__all__ += [
    'ApproxMaxIoUAssigner', 'ATSSAssigner', 'CenterRegionAssigner', 'GridAssigner',
    'PointAssigner', 'RegionAssigner', 'SimOTAAssigner', 'TaskAlignedAssigner',
    'UniformAssigner', 'BucketingBBoxCoder', 'DistancePointBBoxCoder',
    'LegacyDeltaXYWHBBoxCoder', 'PseudoBBoxCoder', 'TBLRBBoxCoder', 'YOLOBBoxCoder',
    'bbox2distance', 'distance2bbox', 'find_inside_bboxes'
]
__all__ += [
    'CombinedSampler', 'InstanceBalancedPosSampler', 'IoUBalancedNegSampler', 'OHEMSampler',
    'ScoreHLRSampler'
]
