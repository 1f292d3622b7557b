from .anchor import (ANCHOR_GENERATORS, PRIOR_GENERATORS, AnchorGenerator, anchor_inside_flags,
                     build_anchor_generator, build_prior_generator, calc_region, images_to_levels)
from .bbox import (BBOX_ASSIGNERS, BBOX_CODERS, BBOX_SAMPLERS, IOU_CALCULATORS, AssignResult,
                   BaseAssigner, BaseBBoxCoder, BaseSampler, BboxOverlaps2D, DeltaXYWHBBoxCoder,
                   MaxIoUAssigner, PseudoSampler, RandomSampler, SamplingResult, bbox2delta,
                   bbox2result, bbox2roi, bbox_cxcywh_to_xyxy, bbox_flip, bbox_mapping,
                   bbox_mapping_back, bbox_overlaps, bbox_rescale, bbox_xyxy_to_cxcywh,
                   build_assigner, build_bbox_coder, build_iou_calculator, build_sampler,
                   delta2bbox, roi2bbox, scale_factor_tensor)
from .anchor import (LegacyAnchorGenerator, LegacySSDAnchorGenerator, MlvlPointGenerator,
                     PointGenerator, SSDAnchorGenerator, YOLOAnchorGenerator)
from .bbox import (ApproxMaxIoUAssigner, ATSSAssigner, BucketingBBoxCoder,
                   CenterRegionAssigner, DistancePointBBoxCoder, GridAssigner,
                   LegacyDeltaXYWHBBoxCoder, PointAssigner, PseudoBBoxCoder, RegionAssigner,
                   SimOTAAssigner, TaskAlignedAssigner, TBLRBBoxCoder, UniformAssigner,
                   YOLOBBoxCoder, bbox2distance, distance2bbox, find_inside_bboxes)
from .post_processing import (batched_nms, merge_aug_bboxes, merge_aug_masks,
                              merge_aug_proposals, merge_aug_scores, multiclass_nms, nms)
from .bbox import (CombinedSampler, InstanceBalancedPosSampler, IoUBalancedNegSampler,
                   OHEMSampler, ScoreHLRSampler)
from .post_processing import batched_soft_nms, nms_match, soft_nms
from .utils import (center_of_mass, filter_scores_and_topk, flip_tensor, generate_coordinate,
                    multi_apply, reduce_mean, select_single_mlvl, sorted_topk, unmap)
from .mask import (BaseInstanceMasks, BitmapMasks, PolygonMasks, encode_mask_results,
                   mask2bbox, mask2ndarray, split_combined_polys)
from .mask import mask_target

__all__ = ['BaseInstanceMasks', 'BitmapMasks', 'PolygonMasks', 'encode_mask_results', 'mask2ndarray',
           'split_combined_polys', 'mask2bbox']

# core (anchor, bbox, post_processing, utils)
__all__ += [
    'ANCHOR_GENERATORS', 'PRIOR_GENERATORS', 'AnchorGenerator', 'anchor_inside_flags',
    'build_anchor_generator', 'build_prior_generator', 'calc_region', 'images_to_levels',
    'BBOX_ASSIGNERS', 'BBOX_CODERS', 'BBOX_SAMPLERS', 'IOU_CALCULATORS', 'AssignResult',
    'BaseAssigner', 'BaseBBoxCoder', 'BaseSampler', 'BboxOverlaps2D', 'DeltaXYWHBBoxCoder',
    'MaxIoUAssigner', 'PseudoSampler', 'RandomSampler', 'SamplingResult', 'bbox2delta',
    'bbox2result', 'bbox2roi', 'bbox_cxcywh_to_xyxy', 'bbox_flip', 'bbox_mapping',
    'bbox_mapping_back', 'bbox_overlaps', 'bbox_rescale', 'bbox_xyxy_to_cxcywh',
    'build_assigner', 'build_bbox_coder', 'build_iou_calculator', 'build_sampler', 'delta2bbox',
    'roi2bbox', 'batched_nms', 'merge_aug_bboxes', 'merge_aug_masks', 'merge_aug_proposals',
    'merge_aug_scores', 'multiclass_nms', 'nms', 'center_of_mass', 'filter_scores_and_topk',
    'flip_tensor', 'generate_coordinate', 'multi_apply', 'reduce_mean', 'select_single_mlvl',
    'sorted_topk', 'unmap'
]
__all__ += ['mask_target', 'scale_factor_tensor']

# prior generators, assigners, coders and transforms of the one-stage and R-CNN families
__all__ += [
    'LegacyAnchorGenerator', 'LegacySSDAnchorGenerator', 'MlvlPointGenerator',
    'PointGenerator', 'SSDAnchorGenerator', 'YOLOAnchorGenerator', 'ApproxMaxIoUAssigner',
    'ATSSAssigner', 'BucketingBBoxCoder', 'CenterRegionAssigner', 'DistancePointBBoxCoder',
    'GridAssigner', 'LegacyDeltaXYWHBBoxCoder', 'PointAssigner', 'PseudoBBoxCoder',
    'RegionAssigner', 'SimOTAAssigner', 'TaskAlignedAssigner', 'TBLRBBoxCoder',
    'UniformAssigner', 'YOLOBBoxCoder', 'bbox2distance', 'distance2bbox',
    'find_inside_bboxes'
]

# samplers and soft-NMS of the R-CNN families
__all__ += [
    'CombinedSampler', 'InstanceBalancedPosSampler', 'IoUBalancedNegSampler', 'OHEMSampler',
    'ScoreHLRSampler', 'batched_soft_nms', 'nms_match', 'soft_nms'
]
