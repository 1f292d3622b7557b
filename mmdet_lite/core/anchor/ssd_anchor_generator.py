"""Anchor generators of SSD (2.x) and of 1.x SSD checkpoints."""
from numbers import Number
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from torch import Tensor

from mmdet_lite.registry import TASK_UTILS
from .anchor_generator import AnchorGenerator, _pair
from .legacy_anchor_generator import LegacyAnchorGenerator
from ...core.utils.errors import ConfigValueError

# (input_size, basesize_ratio_range[0]) -> the first level's (min, max) size in % of the input,
# which SSD sets apart from the evenly spaced sizes of the other levels.
_FIRST_LEVEL_PERCENT = {
    (300, 0.15): (7, 15),   # SSD300 COCO
    (300, 0.2): (10, 20),   # SSD300 VOC
    (512, 0.1): (4, 10),    # SSD512 COCO
    (512, 0.15): (7, 15),   # SSD512 VOC
}


def ssd_anchor_sizes(input_size: int, basesize_ratio_range: Tuple[float, float],
                     num_levels: int) -> Tuple[List[int], List[int]]:
    """SSD's per-level (min_sizes, max_sizes) in pixels from a ratio range of the input size.

    Levels 2..L get sizes evenly spaced (in integer percent) over ``basesize_ratio_range``; the
    first level gets the fixed size of the SSD paper's setting (see ``_FIRST_LEVEL_PERCENT``).
    """
    key = (input_size, basesize_ratio_range[0])
    if key not in _FIRST_LEVEL_PERCENT:
        raise ValueError(
            'SSDAnchorGenerator without min_sizes/max_sizes supports input_size 300 with '
            'basesize_ratio_range[0] 0.15 or 0.2, and 512 with 0.1 or 0.15; got input_size='
            f'{input_size}, basesize_ratio_range={tuple(basesize_ratio_range)}. Give min_sizes '
            'and max_sizes explicitly for other settings.')
    if num_levels < 3:
        raise ValueError(f'SSDAnchorGenerator needs at least 3 levels to space the sizes of '
                         f'levels 2..L, got {num_levels}')
    min_percent = int(basesize_ratio_range[0] * 100)
    max_percent = int(basesize_ratio_range[1] * 100)
    step = int(np.floor(max_percent - min_percent) / (num_levels - 2))
    min_sizes, max_sizes = [], []
    for percent in range(min_percent, max_percent + 1, step):
        min_sizes.append(int(input_size * percent / 100))
        max_sizes.append(int(input_size * (percent + step) / 100))
    first_min, first_max = _FIRST_LEVEL_PERCENT[key]
    min_sizes.insert(0, int(input_size * first_min / 100))
    max_sizes.insert(0, int(input_size * first_max / 100))
    return min_sizes, max_sizes


@TASK_UTILS.register_module()
class SSDAnchorGenerator(AnchorGenerator):
    """SSD anchors: per level, square anchors of ``min_size`` and ``sqrt(min_size * max_size)``
    plus ``min_size`` anchors of ratios ``1/r`` and ``r`` for each ``r`` in ``ratios[level]``,
    centred in the cell (``stride / 2``).

    Base anchors of a level are ordered [min square, large square, 1/r1, r1, 1/r2, r2, ...].

    Args:
        strides: per level a stride, or a (stride_w, stride_h) pair.
        ratios: per level the extra aspect ratios (``[2]`` gives 1/2 and 2).
        min_sizes: per level the small anchor size; with ``max_sizes`` or neither.
        max_sizes: per level the size whose geometric mean with ``min_size`` gives the large
            square anchor.
        basesize_ratio_range: (low, high) sizes as fractions of ``input_size``, used when
            ``min_sizes`` / ``max_sizes`` are not given.
        input_size: 300 or 512, used with ``basesize_ratio_range``.
        scale_major: order of the generated (scale, ratio) pairs before the selection above;
            2.x SSD configs use False.
    """

    def __init__(self, strides: Sequence[Union[int, Sequence[int]]],
                 ratios: Sequence[Sequence[float]], min_sizes: Optional[Sequence[float]] = None,
                 max_sizes: Optional[Sequence[float]] = None,
                 basesize_ratio_range: Tuple[float, float] = (0.15, 0.9),
                 input_size: int = 300, scale_major: bool = True) -> None:
        if len(strides) != len(ratios):
            raise ValueError(f'SSDAnchorGenerator: {len(strides)} strides but {len(ratios)} '
                             'ratio lists; give one list of ratios per level')
        if (min_sizes is None) != (max_sizes is None):
            raise ConfigValueError(
                'SSDAnchorGenerator: give both min_sizes and max_sizes or neither '
                f'(got min_sizes={min_sizes}, max_sizes={max_sizes})')
        if (not isinstance(basesize_ratio_range, (tuple, list)) or len(basesize_ratio_range) != 2
                or not all(isinstance(r, Number) for r in basesize_ratio_range)):
            raise ValueError('SSDAnchorGenerator: basesize_ratio_range must be a (low, high) '
                             f'pair of floats, got {basesize_ratio_range!r}')
        self.strides = [_pair(stride) for stride in strides]
        self.input_size = input_size
        self.basesize_ratio_range = tuple(basesize_ratio_range)
        if min_sizes is None:
            min_sizes, max_sizes = ssd_anchor_sizes(input_size, self.basesize_ratio_range,
                                                    len(self.strides))
        if not len(min_sizes) == len(max_sizes) == len(self.strides):
            raise ConfigValueError(f'SSDAnchorGenerator: {len(min_sizes)} min_sizes and '
                                   f'{len(max_sizes)} max_sizes for {len(self.strides)} strides; give '
                                   'one of each per level')
        self.centers = self._cell_centres()
        self.base_sizes = list(min_sizes)
        self.scales = [torch.Tensor([1., np.sqrt(max_size / min_size)])
                       for min_size, max_size in zip(min_sizes, max_sizes)]
        self.ratios = []
        for level_ratios in ratios:
            anchor_ratios = [1.]
            for r in level_ratios:
                anchor_ratios += [1 / r, r]
            self.ratios.append(torch.Tensor(anchor_ratios))
        self.scale_major = scale_major
        self.center_offset = 0
        self.octave_base_scale = None
        self.scales_per_octave = None
        self.round_base_anchors = False
        self.strides_from_input = False
        self.truncate_sizes = False
        self.base_anchors = self.gen_base_anchors()

    def _cell_centres(self) -> List[Tuple[float, float]]:
        return [(stride_w / 2., stride_h / 2.) for stride_w, stride_h in self.strides]

    def gen_base_anchors(self) -> List[Tensor]:
        """Per level the (2 + 2 * len(ratios[level]), 4) base anchors."""
        multi_level_base_anchors = []
        for i, base_size in enumerate(self.base_sizes):
            base_anchors = self.gen_single_level_base_anchors(
                base_size, scales=self.scales[i], ratios=self.ratios[i], center=self.centers[i])
            # keep ratio 1 at both scales and the other ratios at the small scale only
            num_ratios = len(self.ratios[i])
            keep = [0, num_ratios] + list(range(1, num_ratios))
            multi_level_base_anchors.append(base_anchors[torch.tensor(keep)])
        return multi_level_base_anchors

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(strides={self.strides}, '
                f'ratios={[r.tolist() for r in self.ratios]}, '
                f'scales={[s.tolist() for s in self.scales]}, base_sizes={self.base_sizes}, '
                f'scale_major={self.scale_major}, input_size={self.input_size}, '
                f'basesize_ratio_range={self.basesize_ratio_range}, '
                f'num_levels={self.num_levels})')


@TASK_UTILS.register_module()
class LegacySSDAnchorGenerator(SSDAnchorGenerator, LegacyAnchorGenerator):
    """SSD anchors of 1.x checkpoints: 1.x pixel convention (see
    :class:`LegacyAnchorGenerator`), centres at ``(stride - 1) / 2``."""

    def __init__(self, strides: Sequence[Union[int, Sequence[int]]],
                 ratios: Sequence[Sequence[float]], basesize_ratio_range: Tuple[float, float],
                 input_size: int = 300, scale_major: bool = True) -> None:
        super().__init__(strides=strides, ratios=ratios,
                         basesize_ratio_range=basesize_ratio_range, input_size=input_size,
                         scale_major=scale_major)

    def _cell_centres(self) -> List[Tuple[float, float]]:
        return [((stride_w - 1) / 2., (stride_h - 1) / 2.) for stride_w, stride_h in self.strides]
