"""Max-IoU assignment of guided-anchoring / SABL squares, by the best of their approximants."""
from typing import Optional, Tuple, Union

import torch
from torch import Tensor

from mmdet_lite.registry import TASK_UTILS
from .assign_result import AssignResult
from .max_iou_assigner import MaxIoUAssigner


@TASK_UTILS.register_module()
class ApproxMaxIoUAssigner(MaxIoUAssigner):
    """:class:`MaxIoUAssigner` on squares whose IoU with a GT is the highest IoU of their
    ``approxs_per_octave`` approximating anchors (shapes of several scales and ratios at the
    same location); ignore regions are tested against the squares.

    Arguments as :class:`MaxIoUAssigner`.
    """

    def __init__(self, pos_iou_thr: float, neg_iou_thr: Union[float, Tuple[float, float]],
                 min_pos_iou: float = .0, gt_max_assign_all: bool = True,
                 ignore_iof_thr: float = -1, ignore_wrt_candidates: bool = True,
                 match_low_quality: bool = True, gpu_assign_thr: int = -1,
                 iou_calculator: Optional[dict] = None) -> None:
        super().__init__(pos_iou_thr, neg_iou_thr, min_pos_iou=min_pos_iou,
                         gt_max_assign_all=gt_max_assign_all, ignore_iof_thr=ignore_iof_thr,
                         ignore_wrt_candidates=ignore_wrt_candidates,
                         match_low_quality=match_low_quality, gpu_assign_thr=gpu_assign_thr,
                         iou_calculator=iou_calculator)

    def assign(self, approxs: Tensor, squares: Tensor, approxs_per_octave: int,  # type: ignore
               gt_bboxes: Tensor, gt_bboxes_ignore: Optional[Tensor] = None,
               gt_labels: Optional[Tensor] = None) -> AssignResult:
        """Assign GTs to ``squares``.

        Args:
            approxs: (n * approxs_per_octave, 4) approximants, those of square i at rows
                ``i * approxs_per_octave ...``.
            squares: (n, 4) squares.
            approxs_per_octave: approximants per square.
            gt_bboxes: (k, 4) ground truths.
            gt_bboxes_ignore: (m, 4) ignore boxes.
            gt_labels: (k,) labels.

        Returns:
            AssignResult over the n squares.
        """
        num_squares = squares.size(0)
        num_gts = gt_bboxes.size(0)
        if num_squares == 0 or num_gts == 0:
            return self.assign_wrt_overlaps(approxs.new_zeros((num_gts, num_squares)), gt_labels)
        if approxs.size(0) != num_squares * approxs_per_octave:
            raise ValueError(f'ApproxMaxIoUAssigner: {approxs.size(0)} approxs for {num_squares} '
                             f'squares x {approxs_per_octave} approxs_per_octave')

        assign_on_cpu = self.gpu_assign_thr > 0 and num_gts > self.gpu_assign_thr
        device = approxs.device
        if assign_on_cpu:
            approxs, squares, gt_bboxes = approxs.cpu(), squares.cpu(), gt_bboxes.cpu()
            if gt_bboxes_ignore is not None:
                gt_bboxes_ignore = gt_bboxes_ignore.cpu()
            if gt_labels is not None:
                gt_labels = gt_labels.cpu()

        # (approxs_per_octave, n, 4): the j-th approximant of every square
        approxs = approxs.view(num_squares, approxs_per_octave, 4).transpose(0, 1).reshape(-1, 4)
        all_overlaps = self.iou_calculator(approxs, gt_bboxes)
        overlaps = all_overlaps.view(approxs_per_octave, num_squares, num_gts).max(dim=0).values
        overlaps = overlaps.t()  # (k, n)

        if (self.ignore_iof_thr > 0 and gt_bboxes_ignore is not None
                and gt_bboxes_ignore.numel() > 0):
            if self.ignore_wrt_candidates:
                ignore_max_overlaps = self.iou_calculator(squares, gt_bboxes_ignore,
                                                          mode='iof').max(dim=1).values
            else:
                ignore_max_overlaps = self.iou_calculator(gt_bboxes_ignore, squares,
                                                          mode='iof').max(dim=0).values
            overlaps[:, ignore_max_overlaps > self.ignore_iof_thr] = -1

        result = self.assign_wrt_overlaps(overlaps, gt_labels)
        if assign_on_cpu:
            result.gt_inds = result.gt_inds.to(device)
            result.max_overlaps = result.max_overlaps.to(device)
            if result.labels is not None:
                result.labels = result.labels.to(device)
        return result
