"""SingleRoIExtractor: pool every RoI from the one FPN level its size maps to.

Shapes: ``K`` RoIs, ``L`` feature levels, ``C`` channels, ``(h, w)`` the pooled size.
"""
from typing import List, Optional, Sequence

import torch

from ...builder import ROI_EXTRACTORS
from .base_roi_extractor import BaseRoIExtractor

Tensor = torch.Tensor


@ROI_EXTRACTORS.register_module()
class SingleRoIExtractor(BaseRoIExtractor):
    """Extract RoI features from a single level of a feature pyramid (FPN paper, eq. 1).

    A RoI of scale ``s = sqrt(w * h)`` goes to level ``floor(log2(s / finest_scale + 1e-6))``
    clamped to ``[0, L - 1]``: with ``finest_scale=56``, scale < 112 → level 0,
    [112, 224) → 1, [224, 448) → 2, ≥ 448 → 3.

    Args:
        roi_layer: RoI layer config, e.g.
            ``dict(type='RoIAlign', output_size=7, sampling_ratio=0)``.
        out_channels: channels of the features.
        featmap_strides: stride of each level, e.g. ``[4, 8, 16, 32]``.
        finest_scale: RoI scale mapped to the boundary of level 0.
    """

    def __init__(self, roi_layer: dict, out_channels: int, featmap_strides: Sequence[int],
                 finest_scale: int = 56, init_cfg: Optional[dict] = None):
        super().__init__(roi_layer, out_channels, featmap_strides, init_cfg)
        self.finest_scale = finest_scale

    def map_roi_levels(self, rois: Tensor, num_levels: int) -> Tensor:
        """Level index (K,) int64 of each RoI in ``rois`` (K, 5)."""
        scale = torch.sqrt((rois[:, 3] - rois[:, 1]) * (rois[:, 4] - rois[:, 2]))
        target_lvls = torch.floor(torch.log2(scale / self.finest_scale + 1e-6))
        return target_lvls.clamp(min=0, max=num_levels - 1).long()

    def forward(self, feats: List[Tensor], rois: Tensor,
                roi_scale_factor: Optional[float] = None) -> Tensor:
        """Pool ``rois`` (K, 5) from ``feats`` (L tensors (N, C, H_l, W_l)) → (K, C, h, w)."""
        out_h, out_w = self.roi_layers[0].output_size
        num_levels = len(feats)
        if num_levels > len(self.roi_layers):
            raise ValueError(f'SingleRoIExtractor got {num_levels} feature levels but has '
                             f'{len(self.roi_layers)} featmap_strides; pass feats[:num_inputs]')
        roi_feats = feats[0].new_zeros(rois.size(0), self.out_channels, out_h, out_w)
        if num_levels == 1:
            if rois.size(0) == 0:
                return roi_feats
            if roi_scale_factor is not None:
                rois = self.roi_rescale(rois, roi_scale_factor)
            return self.roi_layers[0](feats[0], rois)
        target_lvls = self.map_roi_levels(rois, num_levels)
        if roi_scale_factor is not None:
            rois = self.roi_rescale(rois, roi_scale_factor)
        for level in range(num_levels):
            inds = torch.nonzero(target_lvls == level, as_tuple=False).squeeze(1)
            if inds.numel() > 0:
                roi_feats[inds] = self.roi_layers[level](feats[level], rois[inds])
            elif torch.is_grad_enabled():
                # Keep every level in the autograd graph so that DDP sees all its inputs used.
                roi_feats = roi_feats + feats[level].sum() * 0.
        return roi_feats
