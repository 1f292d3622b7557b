"""Deformable RoI pooling (Dai et al., 2017) with mmcv's names, in plain PyTorch.

``deform_roi_pool``: RoIAlign-style average pooling (each of the ph x pw bins averages a grid of
bilinear samples; ``sampling_ratio=0`` takes ``ceil(roi size / output size)`` samples per side)
where bin ``(i, j)`` is shifted by ``gamma * (roi_w * offset[k, 0, i, j], roi_h * offset[k, 1,
i, j])``. ``DeformRoIPoolPack`` predicts the offsets from a first, unshifted pooling with the
3-layer MLP ``offset_fc`` (last layer zero: it starts as plain RoIAlign);
``ModulatedDeformRoIPoolPack`` also multiplies each bin by ``mask_fc``'s sigmoid (0.5 at the
start). As mmcv's kernel: boxes are shifted by -0.5 px (``aligned``), samples more than one pixel
outside the map are zero and the others are clamped to it.

Shapes: ``input`` (N, C, H, W); ``rois`` (K, 5) ``[batch_index, x1, y1, x2, y2]`` in image
pixels; ``offset`` (K, 2, ph, pw); output (K, C, ph, pw).
"""
from typing import Optional, Tuple, Union

import torch
from torch import Tensor, nn
from torch.nn.modules.utils import _pair

_IntPair = Union[int, Tuple[int, int]]


def _bilinear(flat: Tensor, batch: Tensor, y: Tensor, x: Tensor, height: int,
              width: int) -> Tensor:
    """mmcv's RoIAlign bilinear sampling of ``flat`` ((N * H * W, C), channels last) at points
    (P,) of image ``batch``; (P, C)."""
    outside = (y < -1.0) | (y > height) | (x < -1.0) | (x > width)
    y = y.clamp(min=0)
    x = x.clamp(min=0)
    y_low = y.floor().long()
    x_low = x.floor().long()
    y_edge = y_low >= height - 1
    x_edge = x_low >= width - 1
    y_low = torch.where(y_edge, torch.full_like(y_low, height - 1), y_low)
    x_low = torch.where(x_edge, torch.full_like(x_low, width - 1), x_low)
    y = torch.where(y_edge, y_low.to(y.dtype), y)
    x = torch.where(x_edge, x_low.to(x.dtype), x)
    y_high = torch.where(y_edge, y_low, y_low + 1)
    x_high = torch.where(x_edge, x_low, x_low + 1)
    ly, lx = y - y_low, x - x_low
    hy, hx = 1 - ly, 1 - lx
    base = batch * (height * width)
    val = ((hy * hx)[:, None] * flat[base + y_low * width + x_low]
           + (hy * lx)[:, None] * flat[base + y_low * width + x_high]
           + (ly * hx)[:, None] * flat[base + y_high * width + x_low]
           + (ly * lx)[:, None] * flat[base + y_high * width + x_high])
    return val.masked_fill(outside[:, None], 0)


def deform_roi_pool(input: Tensor, rois: Tensor, offset: Optional[Tensor] = None,
                    output_size: _IntPair = 7, spatial_scale: float = 1.0,
                    sampling_ratio: int = 0, gamma: float = 0.1) -> Tensor:
    """mmcv's ``deform_roi_pool``: (N, C, H, W), (K, 5), (K, 2, ph, pw) or None -> (K, C, ph,
    pw). RoIs with the same number of samples per bin are computed together."""
    ph, pw = _pair(output_size)
    n, c, height, width = input.shape
    if rois.dim() != 2 or rois.size(1) != 5:
        raise ValueError(f'rois must be (K, 5) [batch_index, x1, y1, x2, y2], got '
                         f'{tuple(rois.shape)}')
    k = rois.size(0)
    if offset is not None and tuple(offset.shape) != (k, 2, ph, pw):
        raise ValueError(f'deform_roi_pool offset must be (K={k}, 2, {ph}, {pw}), got '
                         f'{tuple(offset.shape)}')
    out = input.new_zeros(k, c, ph, pw)
    if k == 0:
        return out
    rois = rois.to(input.dtype)
    start_w = rois[:, 1] * spatial_scale - 0.5
    start_h = rois[:, 2] * spatial_scale - 0.5
    roi_w = rois[:, 3] * spatial_scale - 0.5 - start_w
    roi_h = rois[:, 4] * spatial_scale - 0.5 - start_h
    bin_w, bin_h = roi_w / pw, roi_h / ph
    # the top-left corner of every bin, shifted by the offsets: (K, ph, pw)
    bin_x = start_w[:, None, None] + torch.arange(pw, dtype=input.dtype,
                                                  device=input.device) * bin_w[:, None, None]
    bin_y = start_h[:, None, None] + torch.arange(
        ph, dtype=input.dtype, device=input.device)[:, None] * bin_h[:, None, None]
    if offset is not None:
        bin_x = bin_x + gamma * roi_w[:, None, None] * offset[:, 0]
        bin_y = bin_y + gamma * roi_h[:, None, None] * offset[:, 1]
    if sampling_ratio > 0:
        grid_h = torch.full((k, ), sampling_ratio, dtype=torch.long, device=input.device)
        grid_w = grid_h
    else:
        grid_h = torch.ceil(roi_h / ph).long().clamp(min=0)
        grid_w = torch.ceil(roi_w / pw).long().clamp(min=0)
    flat = input.permute(0, 2, 3, 1).reshape(n * height * width, c)
    batch = rois[:, 0].long()
    pooled = []
    index = []
    for gh, gw in torch.unique(torch.stack([grid_h, grid_w], 1), dim=0).tolist():
        sel = torch.nonzero((grid_h == gh) & (grid_w == gw)).squeeze(1)
        if gh == 0 or gw == 0:  # empty RoI: no samples, output 0 (mmcv divides by max(.., 1))
            continue
        fy = (torch.arange(gh, dtype=input.dtype, device=input.device) + 0.5) / gh
        fx = (torch.arange(gw, dtype=input.dtype, device=input.device) + 0.5) / gw
        # sample points (R, ph, pw, gh, gw)
        ys = (bin_y[sel][..., None, None]
              + fy[:, None] * bin_h[sel][:, None, None, None, None]).expand(-1, -1, pw, gh, gw)
        xs = (bin_x[sel][..., None, None]
              + fx * bin_w[sel][:, None, None, None, None]).expand(-1, ph, -1, gh, gw)
        points = ys.shape
        b = batch[sel][:, None, None, None, None].expand(points)
        vals = _bilinear(flat, b.reshape(-1), ys.reshape(-1), xs.reshape(-1), height, width)
        vals = vals.view(*points, c).sum(dim=(3, 4)) / (gh * gw)
        pooled.append(vals.permute(0, 3, 1, 2))
        index.append(sel)
    if pooled:
        out = out.index_put((torch.cat(index), ), torch.cat(pooled))
    return out


class DeformRoIPool(nn.Module):
    """``deform_roi_pool`` as a module: ``forward(input, rois, offset=None)``.

    Args:
        output_size: (ph, pw) or one int.
        spatial_scale: feature size / image size (``1 / stride``).
        sampling_ratio: samples per bin side (0: adaptive, ``ceil(roi size / output size)``).
        gamma: scale of the offsets, relative to the RoI size.
    """

    def __init__(self, output_size: _IntPair, spatial_scale: float = 1.0,
                 sampling_ratio: int = 0, gamma: float = 0.1):
        super().__init__()
        self.output_size = _pair(output_size)
        self.spatial_scale = float(spatial_scale)
        self.sampling_ratio = int(sampling_ratio)
        self.gamma = float(gamma)

    def forward(self, input: Tensor, rois: Tensor, offset: Optional[Tensor] = None) -> Tensor:
        return deform_roi_pool(input, rois, offset, self.output_size, self.spatial_scale,
                               self.sampling_ratio, self.gamma)

    def extra_repr(self) -> str:
        return (f'output_size={self.output_size}, spatial_scale={self.spatial_scale}, '
                f'sampling_ratio={self.sampling_ratio}, gamma={self.gamma}')


def _mlp(in_features: int, hidden: int, out_features: int, depth: int) -> nn.Sequential:
    layers = []
    for _ in range(depth - 1):
        layers += [nn.Linear(in_features, hidden), nn.ReLU(inplace=True)]
        in_features = hidden
    layers.append(nn.Linear(in_features, out_features))
    nn.init.zeros_(layers[-1].weight)
    nn.init.zeros_(layers[-1].bias)
    return nn.Sequential(*layers)


class DeformRoIPoolPack(DeformRoIPool):
    """Deformable RoI pooling whose offsets ``offset_fc`` predicts from a plain pooling.

    Args:
        output_channels: channels of the input (the MLP's input is ph * pw * C).
        deform_fc_channels: hidden width of ``offset_fc``.
        Others: as ``DeformRoIPool``.
    """

    def __init__(self, output_size: _IntPair, output_channels: int,
                 deform_fc_channels: int = 1024, spatial_scale: float = 1.0,
                 sampling_ratio: int = 0, gamma: float = 0.1):
        super().__init__(output_size, spatial_scale, sampling_ratio, gamma)
        self.output_channels = output_channels
        self.deform_fc_channels = deform_fc_channels
        bins = self.output_size[0] * self.output_size[1]
        self.offset_fc = _mlp(bins * output_channels, deform_fc_channels, bins * 2, depth=3)

    def _check_channels(self, input: Tensor) -> None:
        if input.size(1) != self.output_channels:
            raise ValueError(f'{type(self).__name__} was built for output_channels='
                             f'{self.output_channels} but the features have {input.size(1)}; '
                             "set roi_layer's output_channels to the RoI extractor's "
                             'out_channels')

    def _offset(self, plain: Tensor) -> Tensor:
        return self.offset_fc(plain.flatten(1)).view(plain.size(0), 2, *self.output_size)

    def forward(self, input: Tensor, rois: Tensor) -> Tensor:  # type: ignore[override]
        self._check_channels(input)
        plain = super().forward(input, rois)
        return super().forward(input, rois, self._offset(plain))


class ModulatedDeformRoIPoolPack(DeformRoIPoolPack):
    """``DeformRoIPoolPack`` whose bins are also weighted by ``mask_fc`` (sigmoid, 0.5 at the
    start)."""

    def __init__(self, output_size: _IntPair, output_channels: int,
                 deform_fc_channels: int = 1024, spatial_scale: float = 1.0,
                 sampling_ratio: int = 0, gamma: float = 0.1):
        super().__init__(output_size, output_channels, deform_fc_channels, spatial_scale,
                         sampling_ratio, gamma)
        bins = self.output_size[0] * self.output_size[1]
        self.mask_fc = nn.Sequential(*_mlp(bins * output_channels, deform_fc_channels, bins,
                                           depth=2), nn.Sigmoid())

    def forward(self, input: Tensor, rois: Tensor) -> Tensor:  # type: ignore[override]
        self._check_channels(input)
        plain = DeformRoIPool.forward(self, input, rois)
        mask = self.mask_fc(plain.flatten(1)).view(plain.size(0), 1, *self.output_size)
        return DeformRoIPool.forward(self, input, rois, self._offset(plain)) * mask
