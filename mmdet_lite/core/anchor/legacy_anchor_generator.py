"""Anchor generator of mmdetection 1.x models (the ``legacy_1.x`` configs)."""
from typing import Optional, Tuple, Union

import torch
from torch import Tensor

from mmdet_lite.registry import TASK_UTILS
from .anchor_generator import AnchorGenerator


@TASK_UTILS.register_module()
class LegacyAnchorGenerator(AnchorGenerator):
    """:class:`AnchorGenerator` with the 1.x pixel convention, for 1.x checkpoints.

    It differs in the base anchors only: a box of width ``w`` spans ``w - 1`` pixels (1.x
    counted the end pixel), so the centre is ``center_offset * (base_size - 1)`` and the corners
    are ``centre -/+ 0.5 * (w - 1)``, rounded to integers. 1.x configs use ``center_offset=0.5``.
    Arguments as :class:`AnchorGenerator`.
    """

    def gen_single_level_base_anchors(self, base_size: Union[int, float], scales: Tensor,
                                      ratios: Tensor,
                                      center: Optional[Tuple[float, float]] = None) -> Tensor:
        """Of one level: the (len(ratios) * len(scales), 4) rounded 1.x base anchors."""
        if center is None:
            x_center = self.center_offset * (base_size - 1)
            y_center = self.center_offset * (base_size - 1)
        else:
            x_center, y_center = center
        h_ratios = torch.sqrt(ratios)
        w_ratios = 1 / h_ratios
        if self.scale_major:
            ws = (base_size * w_ratios[:, None] * scales[None, :]).view(-1)
            hs = (base_size * h_ratios[:, None] * scales[None, :]).view(-1)
        else:
            ws = (base_size * scales[:, None] * w_ratios[None, :]).view(-1)
            hs = (base_size * scales[:, None] * h_ratios[None, :]).view(-1)
        half_w = 0.5 * (ws - 1)
        half_h = 0.5 * (hs - 1)
        return torch.stack([x_center - half_w, y_center - half_h, x_center + half_w,
                            y_center + half_h], dim=-1).round()
