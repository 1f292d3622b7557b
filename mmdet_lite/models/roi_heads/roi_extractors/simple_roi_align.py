"""SimpleRoIAlign: PointRend's RoI pooling, one bilinear sample at each output cell's centre
(mmcv 1.x's name and arguments)."""
from typing import Tuple, Union

import torch
from torch import Tensor, nn
from torch.nn.modules.utils import _pair

from ...layers.point_sample import generate_grid, point_sample, rel_roi_point_to_rel_img_point


class SimpleRoIAlign(nn.Module):
    """Pool (K, C, h, w) features of ``rois`` (K, 5) by sampling the feature map at the centres
    of an h x w grid over each RoI.

    Args:
        output_size: (h, w) or one int.
        spatial_scale: feature-map size / image size (``1 / stride``).
        aligned: False samples with ``align_corners=True`` (mmdetection's legacy behaviour).
    """

    def __init__(self, output_size: Union[int, Tuple[int, int]], spatial_scale: float,
                 aligned: bool = True) -> None:
        super().__init__()
        self.output_size = _pair(output_size)
        self.spatial_scale = float(spatial_scale)
        self.use_torchvision = False
        self.aligned = aligned

    def forward(self, features: Tensor, rois: Tensor) -> Tensor:
        """features (N, C, H, W), rois (K, 5) -> (K, C, h, w)."""
        num_rois = rois.size(0)
        channels = features.size(1)
        rel_roi_points = generate_grid(num_rois, self.output_size, device=rois.device)
        roi_feats = features.new_zeros(num_rois, channels, self.output_size[0] *
                                       self.output_size[1])
        for batch_ind in range(features.size(0)):
            inds = rois[:, 0].long() == batch_ind
            if inds.any():
                feat = features[batch_ind].unsqueeze(0)
                rel_img_points = rel_roi_point_to_rel_img_point(
                    rois[inds], rel_roi_points[inds], feat, self.spatial_scale).unsqueeze(0)
                point_feat = point_sample(feat, rel_img_points, align_corners=not self.aligned)
                roi_feats[inds] = point_feat.squeeze(0).transpose(0, 1)
        return roi_feats.reshape(num_rois, channels, *self.output_size)

    def extra_repr(self) -> str:
        return f'output_size={self.output_size}, spatial_scale={self.spatial_scale}'
