"""Anchor generator of YOLOv3: anchors of given (w, h) centred in each cell."""
from typing import List, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor

from mmdet_lite.registry import TASK_UTILS
from .anchor_generator import AnchorGenerator, Device, _pair


@TASK_UTILS.register_module()
class YOLOAnchorGenerator(AnchorGenerator):
    """YOLO anchors: per level a list of (w, h) sizes, centred at ``stride / 2`` of each cell.

    Args:
        strides: per level a stride, or a (stride_w, stride_h) pair.
        base_sizes: per level the anchor sizes, each an int or a (w, h) pair; every level has
            the same number of anchors.
    """

    def __init__(self, strides: Sequence[Union[int, Sequence[int]]],
                 base_sizes: Sequence[Sequence[Union[int, Sequence[int]]]]) -> None:
        if len(strides) != len(base_sizes):
            raise ValueError(f'YOLOAnchorGenerator: {len(strides)} strides but '
                             f'{len(base_sizes)} levels of base_sizes; give one list per level')
        num_anchor_per_level = len(base_sizes[0])
        for level, sizes in enumerate(base_sizes):
            if len(sizes) != num_anchor_per_level:
                raise ValueError(f'YOLOAnchorGenerator: level {level} has {len(sizes)} '
                                 f'base_sizes, level 0 has {num_anchor_per_level}; every level '
                                 'needs the same number of anchors')
        self.strides = [_pair(stride) for stride in strides]
        self.centers = [(stride_w / 2., stride_h / 2.) for stride_w, stride_h in self.strides]
        self.base_sizes = [[_pair(size) for size in sizes] for sizes in base_sizes]
        self.center_offset = 0
        self.round_base_anchors = False
        self.strides_from_input = False
        self.base_anchors = self.gen_base_anchors()

    @property
    def num_levels(self) -> int:
        """Number of feature levels."""
        return len(self.base_sizes)

    def gen_base_anchors(self) -> List[Tensor]:
        """Per level the (A, 4) base anchors."""
        return [
            self.gen_single_level_base_anchors(sizes, self.centers[i])
            for i, sizes in enumerate(self.base_sizes)
        ]

    def gen_single_level_base_anchors(  # type: ignore[override]
            self, base_sizes_per_level: Sequence[Tuple[int, int]],
            center: Optional[Tuple[float, float]] = None) -> Tensor:
        """Of one level: the (A, 4) anchors of sizes ``base_sizes_per_level`` around
        ``center``."""
        if center is None:
            raise ValueError('YOLOAnchorGenerator.gen_single_level_base_anchors needs the (x, y) '
                             'centre of the base anchors')
        x_center, y_center = center
        return torch.stack([
            torch.Tensor([x_center - 0.5 * w, y_center - 0.5 * h, x_center + 0.5 * w,
                          y_center + 0.5 * h]) for w, h in base_sizes_per_level
        ], dim=0)

    def responsible_flags(self, featmap_sizes: Sequence[Tuple[int, int]], gt_bboxes: Tensor,
                          device: Device = 'cpu') -> List[Tensor]:
        """Per level the (h * w * A,) bool flags of the anchors in the cells that hold a
        ground-truth centre (the anchors responsible for predicting it).

        Args:
            featmap_sizes: per level the (h, w) of the feature map.
            gt_bboxes: (k, 4) ground truths.
            device: device of the flags.
        """
        if len(featmap_sizes) != self.num_levels:
            raise ValueError(f'YOLOAnchorGenerator has {self.num_levels} levels but got '
                             f'{len(featmap_sizes)} feature map sizes')
        return [
            self.single_level_responsible_flags(featmap_sizes[i], gt_bboxes, self.strides[i],
                                                self.num_base_anchors[i], device=device)
            for i in range(self.num_levels)
        ]

    def single_level_responsible_flags(self, featmap_size: Tuple[int, int], gt_bboxes: Tensor,
                                       stride: Tuple[int, int], num_base_anchors: int,
                                       device: Device = 'cpu') -> Tensor:
        """Of one level: (h * w * A,) bool flags of the anchors of the cells that hold a
        ground-truth centre."""
        feat_h, feat_w = featmap_size
        gt_cx = ((gt_bboxes[:, 0] + gt_bboxes[:, 2]) * 0.5).to(device)
        gt_cy = ((gt_bboxes[:, 1] + gt_bboxes[:, 3]) * 0.5).to(device)
        grid_x = torch.floor(gt_cx / stride[0]).long()
        grid_y = torch.floor(gt_cy / stride[1]).long()
        outside = (grid_x < 0) | (grid_x >= feat_w) | (grid_y < 0) | (grid_y >= feat_h)
        if outside.any():
            raise ValueError(f'YOLOAnchorGenerator: ground-truth centres {gt_cx[outside].tolist()}'
                             f', {gt_cy[outside].tolist()} fall outside the {feat_h} x {feat_w} '
                             f'feature map of stride {stride}; boxes must lie in the image')
        responsible_grid = torch.zeros(feat_h * feat_w, dtype=torch.bool, device=device)
        responsible_grid[grid_y * feat_w + grid_x] = True
        return responsible_grid[:, None].expand(feat_h * feat_w,
                                                num_base_anchors).contiguous().view(-1)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(strides={self.strides}, base_sizes='
                f'{self.base_sizes}, num_levels={self.num_levels})')
