"""Deformable RoI pooling: without offsets it is RoIAlign (aligned, adaptive or fixed sampling;
checked against torchvision), a uniform offset shifts the RoI, gradients reach the offsets, and
the Pack layers start as plain RoIAlign (mmcv parity is in test_layer_parity.py)."""
import pytest
import torch
from torchvision.ops import roi_align

from mmdet_lite.models.layers.deform_roi_pool import (DeformRoIPool, DeformRoIPoolPack,
                                                      ModulatedDeformRoIPoolPack,
                                                      deform_roi_pool)
from mmdet_lite.models.roi_heads.roi_extractors.roi_layers import build_roi_layer

pytestmark = pytest.mark.usefixtures('one_thread')

ROIS = torch.tensor([[0, 2.0, 3.0, 30.0, 25.0], [1, 10.5, 4.2, 20.3, 40.0],
                     [0, -6.0, 20.0, 18.0, 44.0], [1, 0.0, 0.0, 47.0, 47.0],
                     [0, 5.0, 5.0, 5.0, 9.0]])


@pytest.mark.parametrize('sampling_ratio', [0, 2])
def test_without_offsets_it_is_roi_align(sampling_ratio):
    torch.manual_seed(0)
    x = torch.randn(2, 3, 12, 12)
    out = deform_roi_pool(x, ROIS, None, (3, 4), 0.25, sampling_ratio)
    ref = roi_align(x, ROIS, (3, 4), 0.25, sampling_ratio, aligned=True)
    torch.testing.assert_close(out, ref)


def test_uniform_offset_shifts_the_roi_and_has_gradients():
    torch.manual_seed(1)
    x = torch.randn(1, 2, 16, 16)
    rois = torch.tensor([[0, 8.0, 8.0, 40.0, 40.0]])
    offset = torch.zeros(1, 2, 2, 2)
    offset[:, 0] = 0.5  # gamma * roi_w * 0.5 = 0.1 * 8 * 0.5 = 0.4 feature px right
    offset[:, 1] = -0.25  # 0.1 * 8 * -0.25 = -0.2 px up
    out = deform_roi_pool(x, rois, offset, 2, 0.25, 2, gamma=0.1)
    shifted = rois + torch.tensor([[0, 1.6, -0.8, 1.6, -0.8]])  # in image px (stride 4)
    torch.testing.assert_close(out, roi_align(x, shifted, 2, 0.25, 2, aligned=True))
    offset.requires_grad_(True)
    deform_roi_pool(x, rois, offset, 2, 0.25, 2).sum().backward()
    assert offset.grad.abs().sum() > 0


def test_packs_start_as_roi_align_and_build_from_configs():
    torch.manual_seed(2)
    x = torch.randn(2, 4, 12, 12)
    plain = roi_align(x, ROIS, 3, 0.25, 0, aligned=True)
    pack = build_roi_layer(dict(type='DeformRoIPoolPack', output_size=3, output_channels=4,
                                deform_fc_channels=8), 0.25)
    assert isinstance(pack, DeformRoIPoolPack)
    torch.testing.assert_close(pack(x, ROIS), plain)
    mpack = build_roi_layer(dict(type='ModulatedDeformRoIPoolPack', output_size=3,
                                 output_channels=4, deform_fc_channels=8), 0.25)
    assert isinstance(mpack, ModulatedDeformRoIPoolPack)
    torch.testing.assert_close(mpack(x, ROIS), plain * 0.5)
    assert set(mpack.state_dict()) == {
        'offset_fc.0.weight', 'offset_fc.0.bias', 'offset_fc.2.weight', 'offset_fc.2.bias',
        'offset_fc.4.weight', 'offset_fc.4.bias', 'mask_fc.0.weight', 'mask_fc.0.bias',
        'mask_fc.2.weight', 'mask_fc.2.bias'}
    with pytest.raises(ValueError, match='output_channels'):
        pack(torch.randn(2, 3, 12, 12), ROIS)
    assert DeformRoIPool(2)(x, ROIS[:0]).shape == (0, 4, 2, 2)
