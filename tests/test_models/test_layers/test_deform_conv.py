"""Deformable conv v1/v2 against a direct bilinear-sampling computation (independent of
torchvision), on hand-worked values and on random non-zero offsets and masks in mmcv's layout."""
import pytest
import torch
from torch import Tensor

from mmdet_lite.models.layers import (DeformConv2d, DeformConv2dPack, ModulatedDeformConv2d,
                                      ModulatedDeformConv2dPack, build_conv_layer, deform_conv2d,
                                      modulated_deform_conv2d)


# single intra-op thread: on a loaded 2-core box threads make these tiny ops much slower
pytestmark = pytest.mark.usefixtures('one_thread')

def bilinear(img: Tensor, y: float, x: float) -> Tensor:
    """mmcv's sampling of one (C, H, W) map at (y, x): zero outside (-1, H) x (-1, W), and corners
    outside the map count as zero."""
    c, h, w = img.shape
    if y <= -1 or y >= h or x <= -1 or x >= w:
        return img.new_zeros(c)
    y0, x0 = int(torch.floor(torch.tensor(y))), int(torch.floor(torch.tensor(x)))
    out = img.new_zeros(c)
    for yy, wy in ((y0, 1 - (y - y0)), (y0 + 1, y - y0)):
        for xx, wx in ((x0, 1 - (x - x0)), (x0 + 1, x - x0)):
            if 0 <= yy < h and 0 <= xx < w:
                out = out + wy * wx * img[:, yy, xx]
    return out


def reference_deform_conv(x: Tensor, offset: Tensor, weight: Tensor, stride: int, padding: int,
                          dilation: int, groups: int, deform_groups: int,
                          mask: Tensor = None, bias: Tensor = None) -> Tensor:
    """Loops over images, output pixels, kernel taps: offset channel ``2k`` is dy and ``2k + 1``
    dx of tap ``k`` (row-major) in each deformable group; ``mask`` has one channel per tap."""
    n, c_in, h, w = x.shape
    c_out, _, kh, kw = weight.shape
    h_out, w_out = offset.shape[-2:]
    c_per_dg, c_in_g, c_out_g = c_in // deform_groups, c_in // groups, c_out // groups
    out = torch.zeros(n, c_out, h_out, w_out, dtype=torch.float64)
    for b in range(n):
        for oy in range(h_out):
            for ox in range(w_out):
                cols = torch.zeros(c_in, kh * kw, dtype=torch.float64)
                for dg in range(deform_groups):
                    chans = slice(dg * c_per_dg, (dg + 1) * c_per_dg)
                    for k in range(kh * kw):
                        i, j = divmod(k, kw)
                        dy = offset[b, dg * 2 * kh * kw + 2 * k, oy, ox].item()
                        dx = offset[b, dg * 2 * kh * kw + 2 * k + 1, oy, ox].item()
                        y = oy * stride - padding + i * dilation + dy
                        xx = ox * stride - padding + j * dilation + dx
                        val = bilinear(x[b, chans].double(), y, xx)
                        if mask is not None:
                            val = val * mask[b, dg * kh * kw + k, oy, ox].item()
                        cols[chans, k] = val
                for g in range(groups):
                    wg = weight[g * c_out_g:(g + 1) * c_out_g].double().reshape(c_out_g, -1)
                    cg = cols[g * c_in_g:(g + 1) * c_in_g].reshape(-1)
                    out[b, g * c_out_g:(g + 1) * c_out_g, oy, ox] = wg @ cg
    if bias is not None:
        out += bias.double().view(1, -1, 1, 1)
    return out.float()


def test_deform_conv_hand_worked_1x1():
    """On the linear map f(y, x) = 3y + x, bilinear sampling inside the map is exact; outside
    it, corners count as zero."""
    img = torch.tensor([[0., 1., 2.], [3., 4., 5.], [6., 7., 8.]]).view(1, 1, 3, 3)
    weight = torch.full((1, 1, 1, 1), 2.0)
    offset = torch.zeros(1, 2, 3, 3)
    offset[0, :, 0, 0] = torch.tensor([0.5, 0.25])   # (0.5, 0.25): 2 * 1.75
    offset[0, :, 2, 1] = torch.tensor([0.5, 0.0])    # (2.5, 1): only the row-2 corners, 0.5 * 7
    offset[0, :, 1, 1] = torch.tensor([-2.0, 0.0])   # (-1, 1): outside, 0
    offset[0, :, 0, 2] = torch.tensor([-0.5, -0.5])  # (-0.5, 1.5): 0.25 * (1 + 2)
    out = deform_conv2d(img, offset, weight)
    expected = 2 * torch.tensor([[1.75, 1., 0.75], [3., 0., 5.], [6., 3.5, 8.]])
    torch.testing.assert_close(out[0, 0], expected)
    torch.testing.assert_close(out, reference_deform_conv(img, offset, weight, 1, 0, 1, 1, 1))


def test_deform_conv_v1_matches_direct_sampling():
    torch.manual_seed(0)
    x = torch.randn(2, 4, 6, 6)
    weight = torch.randn(6, 2, 3, 3)  # groups=2
    offset = torch.randn(2, 2 * 2 * 9, 3, 3) * 1.5  # deform_groups=2, stride 2, dilation 2
    out = deform_conv2d(x, offset, weight, stride=2, padding=2, dilation=2, groups=2,
                        deform_groups=2)
    ref = reference_deform_conv(x, offset, weight, 2, 2, 2, groups=2, deform_groups=2)
    torch.testing.assert_close(out, ref, atol=1e-4, rtol=1e-4)
    layer = DeformConv2d(4, 6, 3, stride=2, padding=2, dilation=2, groups=2, deform_groups=2)
    layer.weight.data.copy_(weight)
    torch.testing.assert_close(layer(x, offset), out)


def test_modulated_deform_conv_v2_matches_direct_sampling():
    torch.manual_seed(1)
    x = torch.randn(1, 4, 5, 6)
    weight, bias = torch.randn(3, 4, 3, 3), torch.randn(3)
    offset = torch.randn(1, 2 * 2 * 9, 5, 6)
    mask = torch.rand(1, 2 * 9, 5, 6)
    out = modulated_deform_conv2d(x, offset, mask, weight, bias, 1, 1, 1, 1, 2)
    ref = reference_deform_conv(x, offset, weight, 1, 1, 1, 1, 2, mask=mask, bias=bias)
    torch.testing.assert_close(out, ref, atol=1e-4, rtol=1e-4)
    layer = ModulatedDeformConv2d(4, 3, 3, padding=1, deform_groups=2)
    layer.weight.data.copy_(weight)
    layer.bias.data.copy_(bias)
    torch.testing.assert_close(layer(x, offset, mask), out)


def test_dcnv2_pack_splits_conv_offset_as_mmcv():
    """``conv_offset``'s output is chunked in three: [o1, o2, mask logits]; offsets are
    cat(o1, o2) and the mask is their sigmoid."""
    torch.manual_seed(2)
    layer = build_conv_layer(dict(type='DCNv2', deform_groups=1), 2, 3, 3, padding=1)
    assert isinstance(layer, ModulatedDeformConv2dPack) and layer.conv_offset.out_channels == 27
    assert not layer.conv_offset.weight.any() and not layer.conv_offset.bias.any()
    bias = torch.randn(27)
    layer.conv_offset.bias.data.copy_(bias)  # zero weights: constant offsets and masks
    x = torch.randn(1, 2, 4, 4)
    offset = torch.cat([bias[:9], bias[9:18]]).view(1, 18, 1, 1).expand(1, 18, 4, 4)
    mask = torch.sigmoid(bias[18:]).view(1, 9, 1, 1).expand(1, 9, 4, 4)
    ref = reference_deform_conv(x, offset, layer.weight.detach(), 1, 1, 1, 1, 1, mask=mask,
                                bias=layer.bias.detach())
    torch.testing.assert_close(layer(x), ref, atol=1e-4, rtol=1e-4)


def test_dcn_pack_starts_as_plain_conv_and_learns_offsets():
    torch.manual_seed(3)
    layer = build_conv_layer(dict(type='DCN', deform_groups=1), 3, 4, 3, padding=1, bias=False)
    assert isinstance(layer, DeformConv2dPack)
    x = torch.randn(2, 3, 6, 6)
    plain = torch.nn.functional.conv2d(x, layer.weight, padding=1)
    out = layer(x)
    torch.testing.assert_close(out, plain, atol=1e-5, rtol=1e-5)
    out.pow(2).sum().backward()
    assert layer.conv_offset.weight.grad.abs().sum() > 0 and layer.weight.grad is not None


def test_deform_conv_errors_name_the_fix():
    with pytest.raises(ValueError, match="use conv type 'DCNv2'"):
        DeformConv2dPack(2, 2, 3, bias=True)
    with pytest.raises(ValueError, match='offset must be'):
        deform_conv2d(torch.randn(1, 2, 4, 4), torch.randn(1, 9, 2, 2), torch.randn(2, 2, 3, 3))
    with pytest.raises(ValueError, match='disagree'):
        ModulatedDeformConv2dPack(2, 2, 3, deform_groups=2, deformable_groups=4)
    assert ModulatedDeformConv2dPack(4, 4, 3, deformable_groups=2).deform_groups == 2
