"""RoIAlign with torchvision's forward, run on all CPU threads, and a sparse-matrix backward.

torchvision's CPU ``roi_align`` forward runs on one thread. Its RoIs are independent, so
:func:`threaded_roi_align` splits them into ``torch.get_num_threads()`` chunks and runs
torchvision's kernel on each in a thread pool (the op releases the GIL): the same values, in
~0.6x of the time on 2 threads.

torchvision's CPU ``roi_align`` backward recomputes the bilinear weights of every sample for
every channel, one element at a time; on training-sized batches it costs more than the rest of
the RoI head. RoIAlign is linear in the features, ``out = W @ feats`` with ``W`` holding at most
``4 * samples`` bilinear weights per output bin, so its gradient is ``W^T @ grad_out``: one
sparse (CSR) - dense product, its result handed back channels-last without a copy. The forward stays ``torchvision.ops.roi_align``, so values are unchanged.

Shapes: ``K`` RoIs, ``N`` images, ``C`` channels, ``(H, W)`` feature size, ``(PH, PW)`` output.
"""
import math
import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from typing import Optional, Tuple

import torch
from torchvision.ops import roi_align

from ....core.utils.misc import is_tracing

Tensor = torch.Tensor

# Above this many samples per bin side the sparse matrix gets large; use torchvision's backward.
MAX_GRID = 8
# Fewer RoIs per thread than this are not worth a thread hand-off.
MIN_ROIS_PER_THREAD = 32

_pool: Optional[ThreadPoolExecutor] = None


def _reset_pool() -> None:
    """Forget the pool in a forked child (its threads did not survive the fork)."""
    global _pool
    _pool = None


os.register_at_fork(after_in_child=_reset_pool)


def _thread_pool() -> ThreadPoolExecutor:
    """The pool, made on first use; it starts its threads only as tasks need them."""
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=os.cpu_count() or 1, thread_name_prefix='roi_align')
    return _pool


def _roi_align_in_thread(grad_enabled: bool, *args) -> Tensor:
    with torch.set_grad_enabled(grad_enabled):  # grad mode is per thread
        return roi_align(*args)


def threaded_roi_align(feats: Tensor, rois: Tensor, output_size: Tuple[int, int],
                       spatial_scale: float, sampling_ratio: int, aligned: bool) -> Tensor:
    """``torchvision.ops.roi_align`` (K, C, PH, PW), split over the CPU threads by RoI.

    Identical values: every RoI is computed by the same kernel, alone. One thread (GPU,
    tracing, few RoIs, ``torch.get_num_threads() == 1``) calls torchvision directly.
    """
    workers = min(torch.get_num_threads(), len(rois) // MIN_ROIS_PER_THREAD)
    if workers < 2 or feats.device.type != 'cpu' or is_tracing():
        return roi_align(feats, rois, output_size, spatial_scale, sampling_ratio, aligned)
    feats = feats.contiguous()  # once, not once per chunk (the kernel wants NCHW)
    chunks = rois.tensor_split(workers)
    futures = [_thread_pool().submit(_roi_align_in_thread, torch.is_grad_enabled(), feats,
                                   chunk, output_size, spatial_scale, sampling_ratio, aligned)
               for chunk in chunks[1:]]
    first = roi_align(feats, chunks[0], output_size, spatial_scale, sampling_ratio, aligned)
    return torch.cat([first] + [f.result() for f in futures])


def _axis_weights(coords: Tensor, size: int) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
    """Bilinear neighbours and weights along one axis, with torchvision's border rules.

    coords (K, S) sample positions → (low, high) int64 indices and (w_low, w_high), zero where
    the sample lies outside ``[-1, size]``.
    """
    inside = (coords >= -1.0) & (coords <= size)
    c = coords.clamp(min=0.0)
    low = c.floor().clamp(max=size - 1)
    c = torch.where(low >= size - 1, low, c)
    high = (low + 1).clamp(max=size - 1)
    frac = c - low
    keep = inside.to(coords.dtype)
    return low.long(), high.long(), (1.0 - frac) * keep, frac * keep


def _sample_positions(start: Tensor, length: Tensor, bins: int, grid: Tensor,
                      max_grid: int) -> Tuple[Tensor, Tensor]:
    """Sample positions (K, bins * max_grid) along one axis and their per-sample weight share.

    ``grid`` (K,) is each RoI's number of samples per bin; samples past it get weight 0.
    """
    step = torch.arange(max_grid, dtype=start.dtype, device=start.device)
    bin_size = length / bins
    sub = (step[None, :] + 0.5) / grid[:, None]                       # (K, G) in bin units
    offsets = torch.arange(bins, dtype=start.dtype, device=start.device)
    pos = start[:, None, None] + (offsets[None, :, None] + sub[:, None, :]) * bin_size[:, None, None]
    used = (step[None, :] < grid[:, None]).to(start.dtype) / grid[:, None]
    share = used[:, None, :].expand(-1, bins, -1)
    return pos.reshape(len(start), -1), share.reshape(len(start), -1)


def roi_align_matrix(rois: Tensor, feat_shape: Tuple[int, int, int, int],
                     output_size: Tuple[int, int], spatial_scale: float, sampling_ratio: int,
                     aligned: bool) -> Tensor:
    """The sparse (K * PH * PW, N * H * W) matrix ``W`` with ``roi_align(f) = W @ f``."""
    num_imgs, _, height, width = feat_shape
    out_h, out_w = output_size
    offset = 0.5 if aligned else 0.0
    x1 = rois[:, 1] * spatial_scale - offset
    y1 = rois[:, 2] * spatial_scale - offset
    roi_w = rois[:, 3] * spatial_scale - offset - x1
    roi_h = rois[:, 4] * spatial_scale - offset - y1
    if not aligned:
        roi_w, roi_h = roi_w.clamp(min=1.0), roi_h.clamp(min=1.0)
    if sampling_ratio > 0:
        grid_h = torch.full_like(roi_h, sampling_ratio)
        grid_w = torch.full_like(roi_w, sampling_ratio)
    else:
        grid_h = torch.ceil(roi_h / out_h).clamp(min=1)
        grid_w = torch.ceil(roi_w / out_w).clamp(min=1)
    max_h = int(grid_h.max().item()) if len(rois) else 1
    max_w = int(grid_w.max().item()) if len(rois) else 1
    ys, share_y = _sample_positions(y1, roi_h, out_h, grid_h, max_h)   # (K, PH*Gh)
    xs, share_x = _sample_positions(x1, roi_w, out_w, grid_w, max_w)   # (K, PW*Gw)
    y_lo, y_hi, wy_lo, wy_hi = _axis_weights(ys, height)
    x_lo, x_hi, wx_lo, wx_hi = _axis_weights(xs, width)
    wy_lo, wy_hi = wy_lo * share_y, wy_hi * share_y
    wx_lo, wx_hi = wx_lo * share_x, wx_hi * share_x

    base = rois[:, 0].long()[:, None, None] * (height * width)
    cols, vals = [], []
    for y_idx, y_w in ((y_lo, wy_lo), (y_hi, wy_hi)):
        for x_idx, x_w in ((x_lo, wx_lo), (x_hi, wx_hi)):
            cols.append(base + y_idx[:, :, None] * width + x_idx[:, None, :])
            vals.append(y_w[:, :, None] * x_w[:, None, :])
    cols = torch.stack(cols, dim=-1)                                   # (K, PH*Gh, PW*Gw, 4)
    vals = torch.stack(vals, dim=-1)
    bin_y = torch.arange(out_h * max_h, device=rois.device) // max_h
    bin_x = torch.arange(out_w * max_w, device=rois.device) // max_w
    roi_ids = torch.arange(len(rois), device=rois.device)
    rows = (roi_ids[:, None, None] * (out_h * out_w) + bin_y[None, :, None] * out_w
            + bin_x[None, None, :])
    rows = rows[..., None].expand_as(cols)
    indices = torch.stack([rows.reshape(-1), cols.reshape(-1)])
    return torch.sparse_coo_tensor(indices, vals.reshape(-1),
                                   (len(rois) * out_h * out_w, num_imgs * height * width),
                                   check_invariants=False)


class RoIAlignSparseGrad(torch.autograd.Function):
    """``torchvision.ops.roi_align`` whose feature gradient is a sparse-dense product."""

    @staticmethod
    def forward(ctx, feats: Tensor, rois: Tensor, output_size: Tuple[int, int],
                spatial_scale: float, sampling_ratio: int, aligned: bool) -> Tensor:
        ctx.save_for_backward(rois)
        ctx.args = (tuple(feats.shape), output_size, spatial_scale, sampling_ratio, aligned)
        return threaded_roi_align(feats, rois, output_size, spatial_scale, sampling_ratio,
                                  aligned)

    @staticmethod
    def backward(ctx, grad_out: Tensor):
        (rois,) = ctx.saved_tensors
        feat_shape, output_size, spatial_scale, sampling_ratio, aligned = ctx.args
        num_imgs, channels, height, width = feat_shape
        weights = roi_align_matrix(rois, feat_shape, output_size, spatial_scale,
                                   sampling_ratio, aligned)
        grad_bins = grad_out.permute(0, 2, 3, 1).reshape(-1, channels)     # (K*PH*PW, C)
        grad_flat = transposed_csr(weights) @ grad_bins.contiguous()      # (N*H*W, C)
        # A channels-last view, not a copy: autograd accumulates it as it is.
        grad_feats = grad_flat.reshape(num_imgs, height, width, channels).permute(0, 3, 1, 2)
        return grad_feats, None, None, None, None, None


def transposed_csr(weights: Tensor) -> Tensor:
    """``weights.t()`` (COO, with repeated entries) in CSR form, entries summed by the product.

    ``weights.t().coalesce()`` sorts and merges (row, column) pairs; one stable sort by the
    new row (a feature pixel) is all a CSR product needs (repeated columns within a row are
    summed by it).
    """
    rows, cols = weights._indices()
    values = weights._values()
    order = torch.argsort(cols, stable=True)
    num_rows = weights.shape[1]
    crow = torch.zeros(num_rows + 1, dtype=torch.long, device=values.device)
    crow[1:] = torch.cumsum(torch.bincount(cols, minlength=num_rows), 0)
    with warnings.catch_warnings():
        warnings.filterwarnings('ignore', message='Sparse CSR tensor support is in beta')
        return torch.sparse_csr_tensor(crow, rows[order], values[order],
                                       (num_rows, weights.shape[0]), check_invariants=False)


def roi_align_fast_backward(feats: Tensor, rois: Tensor, output_size: Tuple[int, int],
                            spatial_scale: float, sampling_ratio: int, aligned: bool) -> Tensor:
    """``roi_align`` (K, C, PH, PW): on the CPU threaded, with the sparse backward when the
    matrix stays small."""
    needs_grad = torch.is_grad_enabled() and feats.requires_grad
    if not needs_grad or feats.device.type != 'cpu' or rois.numel() == 0:
        return threaded_roi_align(feats, rois, output_size, spatial_scale, sampling_ratio,
                                  aligned)
    if sampling_ratio <= 0:
        size = ((rois[:, 3:5] - rois[:, 1:3]) * spatial_scale).clamp(min=1.0)
        grid = math.ceil(float(size.max()) / min(output_size))
        if grid > MAX_GRID:
            return roi_align(feats, rois, output_size, spatial_scale, sampling_ratio, aligned)
    elif sampling_ratio > MAX_GRID:
        return roi_align(feats, rois, output_size, spatial_scale, sampling_ratio, aligned)
    return RoIAlignSparseGrad.apply(feats, rois, output_size, spatial_scale, sampling_ratio,
                                    aligned)
