"""Named results of the heads: ``NamedTuple``s behind mmdetection 2.x's positional tuples.

Every type keeps 2.x's tuple order, so ``labels, label_weights, *rest = targets`` and
``targets[0]`` still work, and ``targets.labels_list`` says what ``targets[0]`` is
(docs/conventions.md §3.3). A function that returns different kinds of value depending on a
2.x flag returns a different type per kind (``DenseCandidates`` before NMS, ``Detections``
after it), each from its own method; the flag only switches between those methods.

Shape shorthand: ``N`` images, ``L`` levels, ``P`` priors of one image (``P_l`` of level l),
``n`` boxes kept, ``K`` RoIs, ``C`` foreground classes.
"""
from typing import List, NamedTuple, Union

from torch import Tensor

from ...core import SamplingResult


class ImageAnchorTargets(NamedTuple):
    """Of one image (``AnchorHead._get_targets_single``), over its P anchors.

    ``labels`` (P,) hold ``num_classes`` for background; ``label_weights`` (P,);
    ``bbox_targets`` / ``bbox_weights`` (P, 4); ``pos_inds`` / ``neg_inds`` index the anchors
    inside the image; ``sampling_result`` is the sampler's output.
    """
    labels: Tensor
    label_weights: Tensor
    bbox_targets: Tensor
    bbox_weights: Tensor
    pos_inds: Tensor
    neg_inds: Tensor
    sampling_result: SamplingResult


class AnchorTargets(NamedTuple):
    """Of a batch (``AnchorHead.get_targets``), regrouped per level.

    ``labels_list`` / ``label_weights_list``: L tensors (N, P_l); ``bbox_targets_list`` /
    ``bbox_weights_list``: L tensors (N, P_l, 4); ``num_total_pos`` / ``num_total_neg``: the
    positive / negative anchors of the batch, counted at least 1 per image (loss averaging).
    """
    labels_list: List[Tensor]
    label_weights_list: List[Tensor]
    bbox_targets_list: List[Tensor]
    bbox_weights_list: List[Tensor]
    num_total_pos: int
    num_total_neg: int


# AnchorTargets' fields, then the per-image sampling results.
SampledAnchorTargets = NamedTuple('SampledAnchorTargets', [
    *AnchorTargets.__annotations__.items(), ('sampling_results_list', List[SamplingResult])])
SampledAnchorTargets.__doc__ = (
    '``AnchorTargets`` plus the per-image ``sampling_results_list`` '
    '(``get_targets(..., return_sampling_results=True)``).')


class BBoxTargets(NamedTuple):
    """Targets of sampled RoIs (``BBoxHead.get_targets`` / ``_get_target_single``).

    ``labels`` (K,) with ``C`` for negatives, ``label_weights`` (K,), ``bbox_targets`` /
    ``bbox_weights`` (K, 4); positives first in each image. Lists over images when
    ``get_targets(..., concat=False)``.
    """
    labels: Union[Tensor, List[Tensor]]
    label_weights: Union[Tensor, List[Tensor]]
    bbox_targets: Union[Tensor, List[Tensor]]
    bbox_weights: Union[Tensor, List[Tensor]]


class DenseCandidates(NamedTuple):
    """Of one image, a dense head's scored boxes before NMS (``get_bboxes(with_nms=False)``).

    ``bboxes`` (n, 4), ``scores`` (n,) (times the score factors, e.g. centerness),
    ``labels`` (n,) in [0, C).
    """
    bboxes: Tensor
    scores: Tensor
    labels: Tensor


class RoICandidates(NamedTuple):
    """Decoded RoI boxes before NMS (``BBoxHead.get_bboxes(..., cfg=None)``).

    ``bboxes`` (K, 4) class-agnostic or (K, 4 * C) per class, ``scores`` (K, C + 1) with the
    background last. Lists over images from ``simple_test_bboxes(..., rcnn_test_cfg=None)``.
    """
    bboxes: Union[Tensor, List[Tensor]]
    scores: Union[Tensor, List[Tensor]]


class Detections(NamedTuple):
    """Final detections after NMS: ``det_bboxes`` (n, 5) ``[x1, y1, x2, y2, score]`` and
    ``det_labels`` (n,) in [0, C). Of one image, or lists over images from the RoI head's
    ``simple_test_bboxes``."""
    det_bboxes: Union[Tensor, List[Tensor]]
    det_labels: Union[Tensor, List[Tensor]]


class PointTargets(NamedTuple):
    """Of a batch (``AnchorFreeHead.get_targets``, FCOS's rule), regrouped per level.

    ``labels_list``: L tensors (N * P_l,) with ``num_classes`` for background;
    ``bbox_targets_list``: L tensors (N * P_l, 4) of (left, top, right, bottom) distances from
    each point to its box (divided by the level's stride with ``norm_on_bbox``). Images are
    concatenated within a level, image 0 first.
    """
    labels_list: List[Tensor]
    bbox_targets_list: List[Tensor]


class ImageATSSTargets(NamedTuple):
    """Of one image (``ATSSTargetsMixin._get_target_single``): as ``ImageAnchorTargets``, with the
    anchors first and no sampling result: ``anchors`` (P, 4), ``labels`` (P,),
    ``label_weights`` (P,), ``bbox_targets`` / ``bbox_weights`` (P, 4), ``pos_inds``,
    ``neg_inds``."""
    anchors: Tensor
    labels: Tensor
    label_weights: Tensor
    bbox_targets: Tensor
    bbox_weights: Tensor
    pos_inds: Tensor
    neg_inds: Tensor


class ATSSTargets(NamedTuple):
    """Of a batch (``ATSSTargetsMixin.get_targets``, ATSS/GFL/VFNet/TOOD), regrouped per level:
    ``anchors_list`` (L x (N, P_l, 4)), then ``AnchorTargets``' fields."""
    anchors_list: List[Tensor]
    labels_list: List[Tensor]
    label_weights_list: List[Tensor]
    bbox_targets_list: List[Tensor]
    bbox_weights_list: List[Tensor]
    num_total_pos: int
    num_total_neg: int


class ApproxAnchors(NamedTuple):
    """Of a batch (guided anchoring's / SABL's ``get_sampled_approxs``): per image, per level,
    the approximating anchors (P_l * A_a, 4) (``A_a`` = ``approxs_per_octave`` shapes per
    location, consecutive) and ``inside_flag_list`` (P_l,): a location is inside when any of
    its approximants is."""
    approxs_list: List[List[Tensor]]
    inside_flag_list: List[List[Tensor]]


class GuidedAnchors(NamedTuple):
    """Of a batch (``GuidedAnchorHead.get_anchors``): per image, per level, the squares
    (P_l, 4), the guided anchors (k_l, 4) predicted from the kept squares' shape branch, and
    ``loc_mask_list`` (P_l,) bool, the squares kept by the location branch (all in training)."""
    squares_list: List[List[Tensor]]
    guided_anchors_list: List[List[Tensor]]
    loc_mask_list: List[List[Tensor]]


class GALocTargets(NamedTuple):
    """Location-branch targets (``GuidedAnchorHead.ga_loc_targets``): per level ``loc_targets``
    and ``loc_weights`` (N, 1, H_l, W_l) (1 in the centre region of a GT on its level, weight 1;
    0 with weight 0 in its ignore region and nearby levels; 0 with weight 0.1 elsewhere) and
    ``loc_avg_factor`` (the number of locations / 200)."""
    loc_targets: List[Tensor]
    loc_weights: List[Tensor]
    loc_avg_factor: float


class ImageGAShapeTargets(NamedTuple):
    """Of one image (``GuidedAnchorHead._ga_shape_target_single``), over its P squares: the
    sampled squares ``bbox_anchors`` (P, 4), their GTs ``bbox_gts`` (P, 4), ``bbox_weights``
    (P, 4) (1 for positives), ``pos_inds`` / ``neg_inds``."""
    bbox_anchors: Tensor
    bbox_gts: Tensor
    bbox_weights: Tensor
    pos_inds: Tensor
    neg_inds: Tensor


class GAShapeTargets(NamedTuple):
    """Shape-branch targets of a batch (``GuidedAnchorHead.ga_shape_targets``), per level:
    ``bbox_anchors_list`` / ``bbox_gts_list`` / ``bbox_weights_list`` (N, P_l, 4), and the
    positive / negative counts (at least 1 per image)."""
    bbox_anchors_list: List[Tensor]
    bbox_gts_list: List[Tensor]
    bbox_weights_list: List[Tensor]
    num_total_pos: int
    num_total_neg: int


class ImageSABLTargets(NamedTuple):
    """Of one image (``SABLRetinaHead._get_target_single``), over its P squares: ``labels``
    (P,) (``num_classes`` for background), ``label_weights`` (P,), bucket classification
    targets / weights and bucket offset targets / weights, each (P, 4 * S) (S buckets per
    side), ``pos_inds`` / ``neg_inds``."""
    labels: Tensor
    label_weights: Tensor
    bbox_cls_targets: Tensor
    bbox_cls_weights: Tensor
    bbox_reg_targets: Tensor
    bbox_reg_weights: Tensor
    pos_inds: Tensor
    neg_inds: Tensor


class SABLTargets(NamedTuple):
    """Of a batch (``SABLRetinaHead.get_target``), regrouped per level: ``labels_list`` /
    ``label_weights_list`` L x (N, P_l), the bucket targets / weights L x (N, P_l, 4 * S), and
    the positive / negative counts (at least 1 per image)."""
    labels_list: List[Tensor]
    label_weights_list: List[Tensor]
    bbox_cls_targets_list: List[Tensor]
    bbox_cls_weights_list: List[Tensor]
    bbox_reg_targets_list: List[Tensor]
    bbox_reg_weights_list: List[Tensor]
    num_total_pos: int
    num_total_neg: int
