"""A sampler whose positives and negatives come from two different samplers."""
from typing import Any, List, Optional

from torch import Tensor

from mmdet_lite.registry import TASK_UTILS
from ..assigners.assign_result import AssignResult
from .base_sampler import BaseSampler


@TASK_UTILS.register_module()
class CombinedSampler(BaseSampler):
    """Positives from ``pos_sampler``, negatives from ``neg_sampler`` (e.g. Libra R-CNN's
    instance-balanced positives and IoU-balanced negatives).

    Both sub-samplers are built with this sampler's ``num``, ``pos_fraction``,
    ``neg_pos_ub``, ``add_gt_as_proposals`` and ``context`` as defaults.

    Args:
        pos_sampler: config of the positive sampler, e.g.
            ``dict(type='InstanceBalancedPosSampler')``.
        neg_sampler: config of the negative sampler.
        num: number of boxes to sample.
        pos_fraction: fraction of positives among them.
        neg_pos_ub: upper bound of negatives per positive; negative means no bound.
        add_gt_as_proposals: add the GT boxes to the candidates.
        context: the head that builds the sampler, passed on to the sub-samplers.
    """

    def __init__(self, pos_sampler: dict, neg_sampler: dict, num: int, pos_fraction: float,
                 neg_pos_ub: int = -1, add_gt_as_proposals: bool = True,
                 context: Optional[Any] = None) -> None:
        super().__init__(num, pos_fraction, neg_pos_ub, add_gt_as_proposals)
        defaults = dict(num=num, pos_fraction=pos_fraction, neg_pos_ub=neg_pos_ub,
                        add_gt_as_proposals=add_gt_as_proposals, context=context)
        self.pos_sampler = TASK_UTILS.build(pos_sampler, default_args=defaults)
        self.neg_sampler = TASK_UTILS.build(neg_sampler, default_args=defaults)

    def _sample_pos(self, assign_result: AssignResult, num_expected: int,
                    bboxes: Optional[Tensor] = None,
                    feats: Optional[List[Tensor]] = None) -> Tensor:
        return self.pos_sampler._sample_pos(assign_result, num_expected, bboxes=bboxes,
                                            feats=feats)

    def _sample_neg(self, assign_result: AssignResult, num_expected: int,
                    bboxes: Optional[Tensor] = None,
                    feats: Optional[List[Tensor]] = None) -> Tensor:
        return self.neg_sampler._sample_neg(assign_result, num_expected, bboxes=bboxes,
                                            feats=feats)
