"""The RoI heads' step from proposals to sampled RoIs: assign each image's proposals to its GTs,
then sample positives and negatives (GTs added as proposals when the sampler says so).

Shapes: ``N`` images, ``K_i`` proposals of image i, ``G_i`` GT boxes of image i.
"""
from typing import List, Optional, Sequence, Tuple

from torch import Tensor

from ...core import AssignResult, SamplingResult


def assign_and_sample(assigner, sampler, x: Sequence[Tensor], proposal_list: Sequence[Tensor],
                      gt_bboxes: Sequence[Tensor], gt_labels: Sequence[Tensor],
                      gt_bboxes_ignore: Optional[Sequence[Optional[Tensor]]] = None
                      ) -> List[SamplingResult]:
    """Per image, the ``SamplingResult`` of ``proposal_list[i]`` (K_i, 4 or 5).

    ``x`` are the batch's feature levels (N, C, H_l, W_l): samplers that rank RoIs by the
    current head's loss (OHEM) get the image's own levels as ``feats``. ``gt_bboxes`` /
    ``gt_labels`` are per image (G_i, 4) / (G_i,); ``gt_bboxes_ignore`` per image boxes never
    sampled, or None.
    """
    num_imgs = len(proposal_list)
    if gt_bboxes_ignore is None:
        gt_bboxes_ignore = [None] * num_imgs
    return [assign_and_sample_single(assigner, sampler, [lvl_feat[i][None] for lvl_feat in x],
                                     proposal_list[i], gt_bboxes[i], gt_labels[i],
                                     gt_bboxes_ignore[i])[1]
            for i in range(num_imgs)]


def assign_and_sample_single(assigner, sampler, feats: Sequence[Tensor], proposals: Tensor,
                             gt_bboxes: Tensor, gt_labels: Tensor,
                             gt_bboxes_ignore: Optional[Tensor] = None
                             ) -> Tuple[AssignResult, SamplingResult]:
    """Of one image: the ``AssignResult`` of ``proposals`` (K, 4 or 5) and the sampler's result.

    ``feats`` are the image's own levels (1, C, H_l, W_l).
    """
    assign_result = assigner.assign(proposals, gt_bboxes, gt_bboxes_ignore, gt_labels)
    return assign_result, sampler.sample(assign_result, proposals, gt_bboxes, gt_labels,
                                         feats=list(feats))
