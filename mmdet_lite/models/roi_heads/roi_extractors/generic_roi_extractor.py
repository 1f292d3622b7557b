"""GenericRoIExtractor (GRoIE, Rossi et al., arXiv:2004.13665): pools every RoI from every
feature level and aggregates the levels (sum or channel concatenation), with optional modules
before (per level) and after the aggregation.

Shapes: ``K`` RoIs, ``L`` levels, ``C`` channels per level, ``(h, w)`` the output size.
"""
from typing import List, Optional

import torch

from ...builder import ROI_EXTRACTORS
from ...layers.plugin import build_plugin_layer
from .base_roi_extractor import BaseRoIExtractor
from ....core.utils.errors import ConfigValueError

Tensor = torch.Tensor

_AGGREGATIONS = ('sum', 'concat')


@ROI_EXTRACTORS.register_module()
class GenericRoIExtractor(BaseRoIExtractor):
    """Extract RoI features from all levels.

    Args:
        aggregation: 'sum' (``out_channels`` = C) or 'concat' (``out_channels`` = L * C).
        pre_cfg: a plugin config (``ConvModule``, ``GeneralizedAttention``, ...) applied to each
            level's pooled features before aggregation (``pre_module``, shared by the levels).
        post_cfg: a plugin config applied to the aggregated features (``post_module``).
        **kwargs: :class:`BaseRoIExtractor`'s ``roi_layer``, ``out_channels``,
            ``featmap_strides``, ``init_cfg``.
    """

    def __init__(self, aggregation: str = 'sum', pre_cfg: Optional[dict] = None,
                 post_cfg: Optional[dict] = None, **kwargs):
        super().__init__(**kwargs)
        if aggregation not in _AGGREGATIONS:
            raise ConfigValueError(f'GenericRoIExtractor aggregation={aggregation!r}; use one of '
                                   f'{_AGGREGATIONS}')
        self.aggregation = aggregation
        self.with_post = post_cfg is not None
        self.with_pre = pre_cfg is not None
        if self.with_post:
            self.post_module = build_plugin_layer(post_cfg, '_post_module')[1]
        if self.with_pre:
            self.pre_module = build_plugin_layer(pre_cfg, '_pre_module')[1]

    def forward(self, feats: List[Tensor], rois: Tensor,
                roi_scale_factor: Optional[float] = None) -> Tensor:
        """Pool ``rois`` (K, 5) from every level of ``feats`` (L tensors (N, C, H_l, W_l)) and
        aggregate → (K, out_channels, h, w). One level: that level's pooled features as is."""
        if len(feats) == 1:
            return self.roi_layers[0](feats[0], rois)
        if len(feats) > len(self.roi_layers):
            raise ValueError(f'GenericRoIExtractor got {len(feats)} feature levels but has '
                             f'{len(self.roi_layers)} featmap_strides; pass feats[:num_inputs]')
        concat_channels = sum(feat.size(1) for feat in feats)
        if self.aggregation == 'concat' and concat_channels != self.out_channels:
            raise ConfigValueError(
                f'GenericRoIExtractor concatenates {concat_channels} channels but '
                f'has out_channels={self.out_channels}; set out_channels to L * C')
        out_h, out_w = self.roi_layers[0].output_size
        roi_feats = feats[0].new_zeros(rois.size(0), self.out_channels, out_h, out_w)
        if roi_feats.shape[0] == 0:
            return roi_feats
        if roi_scale_factor is not None:
            rois = self.roi_rescale(rois, roi_scale_factor)
        start = 0
        for level, feat in enumerate(feats):
            level_feats = self.roi_layers[level](feat, rois)
            end = start + level_feats.size(1)
            if self.with_pre:
                level_feats = self.pre_module(level_feats)
            if self.aggregation == 'sum':
                roi_feats = roi_feats + level_feats
            else:
                roi_feats[:, start:end] = level_feats
            start = end
        if self.with_post:
            roi_feats = self.post_module(roi_feats)
        return roi_feats
