"""BaseRoIExtractor: one RoI layer per feature level, shared rescaling of RoIs."""
from abc import ABCMeta, abstractmethod
from typing import List, Optional, Sequence

import torch
from mmengine.model import BaseModule
from torch import nn

from .roi_layers import build_roi_layer

Tensor = torch.Tensor


class BaseRoIExtractor(BaseModule, metaclass=ABCMeta):
    """Base class of RoI extractors.

    Args:
        roi_layer: ``dict(type='RoIAlign', output_size=7, sampling_ratio=0, aligned=True)`` or
            ``dict(type='RoIPool', output_size=7)``.
        out_channels: channels of the input features (and of the pooled output).
        featmap_strides: stride of each feature level; a level's layer uses ``1 / stride``.
    """

    def __init__(self, roi_layer: dict, out_channels: int, featmap_strides: Sequence[int],
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg)
        self.roi_layers = self.build_roi_layers(roi_layer, featmap_strides)
        self.out_channels = out_channels
        self.featmap_strides = list(featmap_strides)
        self.fp16_enabled = False

    @property
    def num_inputs(self) -> int:
        """Number of feature levels the extractor reads."""
        return len(self.featmap_strides)

    def build_roi_layers(self, layer_cfg: dict, featmap_strides: Sequence[int]) -> nn.ModuleList:
        """One RoI layer per level, each with ``spatial_scale = 1 / stride``."""
        return nn.ModuleList([build_roi_layer(layer_cfg, 1.0 / stride)
                              for stride in featmap_strides])

    def roi_rescale(self, rois: Tensor, scale_factor: float) -> Tensor:
        """Scale the width and height of ``rois`` (K, 5) about their centres."""
        cx = (rois[:, 1] + rois[:, 3]) * 0.5
        cy = (rois[:, 2] + rois[:, 4]) * 0.5
        half_w = (rois[:, 3] - rois[:, 1]) * (0.5 * scale_factor)
        half_h = (rois[:, 4] - rois[:, 2]) * (0.5 * scale_factor)
        return torch.stack([rois[:, 0], cx - half_w, cy - half_h, cx + half_w, cy + half_h],
                           dim=-1)

    @abstractmethod
    def forward(self, feats: List[Tensor], rois: Tensor,
                roi_scale_factor: Optional[float] = None) -> Tensor:
        """Pooled features (K, C, out_h, out_w) of ``rois`` (K, 5)."""
