import pytest
import torch
from mmcv.cnn import build_upsample_layer

from mmdet_lite.models.layers import CARAFEPack, carafe


def carafe_loops(features, masks, k, group, s):
    """mmcv's CUDA kernel CARAFEForward, one output pixel and kernel tap at a time."""
    n, c, h, w = features.shape
    half = (k - 1) // 2
    group_of = torch.arange(c) // (c // group)
    out = torch.zeros(n, c, h * s, w * s, dtype=features.dtype)
    for ph in range(h * s):
        for pw in range(w * s):
            dh, dw = ph // s, pw // s
            for iy in range(dh - half, dh + half + 1):
                for ix in range(dw - half, dw + half + 1):
                    if 0 <= iy < h and 0 <= ix < w:
                        ch = (group_of * k + iy - dh + half) * k + ix - dw + half
                        out[:, :, ph, pw] += features[:, :, iy, ix] * masks[:, ch, ph, pw]
    return out


@pytest.mark.parametrize('k,group,s', [(5, 2, 2), (3, 1, 3), (1, 4, 2)])
def test_carafe_equals_the_kernel_loops(k, group, s):
    torch.manual_seed(0)
    features = torch.randn(2, 8, 3, 4)
    masks = torch.rand(2, group * k * k, 3 * s, 4 * s)
    torch.testing.assert_close(carafe(features, masks, k, group, s),
                               carafe_loops(features, masks, k, group, s))


def test_carafe_gradients_and_errors():
    features = torch.randn(1, 2, 2, 3, dtype=torch.float64, requires_grad=True)
    masks = torch.rand(1, 9, 4, 6, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda f, m: carafe(f, m, 3, 1, 2), (features, masks))
    with pytest.raises(ValueError, match='odd'):
        carafe(features, torch.rand(1, 16, 4, 6, dtype=torch.float64), 4, 1, 2)
    with pytest.raises(ValueError, match='masks of shape'):
        carafe(features, masks[:, :, :3], 3, 1, 2)


def test_carafe_pack_is_the_carafe_upsampler():
    up = build_upsample_layer(dict(type='carafe', channels=8, scale_factor=2, up_kernel=3,
                                   compressed_channels=4))
    assert isinstance(up, CARAFEPack)
    assert set(up.state_dict()) == {'channel_compressor.weight', 'channel_compressor.bias',
                                    'content_encoder.weight', 'content_encoder.bias'}
    assert up.content_encoder.out_channels == 3 * 3 * 4
    x = torch.randn(1, 8, 5, 6)
    assert up(x).shape == (1, 8, 10, 12)
    # normalised kernels: a constant map stays constant away from the zero-padded border
    torch.testing.assert_close(up(torch.ones(1, 8, 5, 6))[..., 2:-2, 2:-2],
                               torch.ones(1, 8, 6, 8))
