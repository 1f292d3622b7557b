"""SingleRoIExtractor: FPN level mapping and pooled values against torchvision.ops."""
import pytest
import torch
from torchvision.ops import roi_align, roi_pool

from mmdet_lite.models.builder import build_roi_extractor

STRIDES = [4, 8, 16, 32]


def _feats(channels=3, size=128):
    torch.manual_seed(0)
    return [torch.randn(2, channels, size // s, size // s) for s in STRIDES]


def _extractor(roi_layer, finest_scale=56):
    return build_roi_extractor(dict(type='SingleRoIExtractor', roi_layer=roi_layer,
                                    out_channels=3, featmap_strides=STRIDES,
                                    finest_scale=finest_scale))


def _square_roi(img_ind, side, x0=2.0, y0=3.0):
    return [img_ind, x0, y0, x0 + side, y0 + side]


def test_map_roi_levels_by_finest_scale():
    extractor = _extractor(dict(type='RoIAlign', output_size=7, sampling_ratio=0))
    # scale = sqrt(w * h); level = floor(log2(scale / 56)), clamped to [0, 3]
    sides = [10, 111.9, 112, 223.9, 224, 447.9, 448, 2000]
    expected = [0, 0, 1, 1, 2, 2, 3, 3]
    rois = torch.tensor([_square_roi(0, s) for s in sides])
    assert extractor.map_roi_levels(rois, 4).tolist() == expected
    # Non-square: 56 x 224 has scale 112 -> level 1; with 3 levels the top clamps to 2.
    rois = torch.tensor([[0, 0, 0, 56, 224.], [0, 0, 0, 1000, 1000.]])
    assert extractor.map_roi_levels(rois, 3).tolist() == [1, 2]
    assert _extractor(dict(type='RoIAlign', output_size=7), finest_scale=28).map_roi_levels(
        torch.tensor([_square_roi(0, 60)]), 4).tolist() == [1]


@pytest.mark.parametrize('aligned,sampling_ratio', [(True, 0), (False, 2)])
def test_roi_align_values_match_torchvision_on_the_mapped_level(aligned, sampling_ratio):
    feats = _feats()
    extractor = _extractor(dict(type='RoIAlign', output_size=7, sampling_ratio=sampling_ratio,
                                aligned=aligned))
    rois = torch.tensor([_square_roi(0, 20), _square_roi(1, 150, 5, 7), _square_roi(1, 300, 0, 0),
                         [0, 10.5, 20.25, 127.0, 60.0], _square_roi(0, 40, 60, 50)])
    out = extractor(feats, rois)
    assert out.shape == (5, 3, 7, 7)
    levels = [0, 1, 2, 0, 0]  # the 116.5 x 39.75 box has scale 68 -> level 0
    for i, level in enumerate(levels):
        expected = roi_align(feats[level], rois[i:i + 1], output_size=7,
                             spatial_scale=1.0 / STRIDES[level], sampling_ratio=sampling_ratio,
                             aligned=aligned)
        torch.testing.assert_close(out[i:i + 1], expected)


def test_roi_pool_values_match_torchvision():
    feats = _feats()
    extractor = _extractor(dict(type='RoIPool', output_size=(7, 5)))
    rois = torch.tensor([_square_roi(1, 30), _square_roi(0, 130)])
    out = extractor(feats, rois)
    assert out.shape == (2, 3, 7, 5)
    torch.testing.assert_close(out[:1], roi_pool(feats[0], rois[:1], (7, 5), 1 / 4))
    torch.testing.assert_close(out[1:], roi_pool(feats[1], rois[1:], (7, 5), 1 / 8))


def test_roi_scale_factor_enlarges_boxes_about_their_centres():
    feats = _feats()
    extractor = _extractor(dict(type='RoIAlign', output_size=7, sampling_ratio=2))
    rois = torch.tensor([[0, 20., 20., 40., 60.]])
    out = extractor(feats, rois, roi_scale_factor=2.0)
    # level from the original box (scale 28 -> 0), pooled on the doubled box
    expected = roi_align(feats[0], torch.tensor([[0, 10., 0., 50., 80.]]), 7, 1 / 4, 2, True)
    torch.testing.assert_close(out, expected)


def test_zero_rois_and_gradient_reaches_every_level():
    feats = [f.requires_grad_() for f in _feats()]
    extractor = _extractor(dict(type='RoIAlign', output_size=7, sampling_ratio=0))
    empty = extractor(feats, torch.zeros(0, 5))
    assert empty.shape == (0, 3, 7, 7)
    out = extractor(feats, torch.tensor([_square_roi(0, 20)]))
    out.sum().backward()
    assert all(f.grad is not None for f in feats)
    assert feats[0].grad.abs().sum() > 0 and feats[3].grad.abs().sum() == 0


def test_single_level_and_bad_configs():
    feat = _feats()[0]
    extractor = build_roi_extractor(dict(
        type='SingleRoIExtractor', roi_layer=dict(type='RoIAlign', output_size=4),
        out_channels=3, featmap_strides=[4]))
    rois = torch.tensor([_square_roi(1, 500)])
    torch.testing.assert_close(extractor([feat], rois),
                               roi_align(feat, rois, 4, 0.25, 0, True))
    assert extractor([feat], torch.zeros(0, 5)).shape == (0, 3, 4, 4)
    with pytest.raises(KeyError, match='RoIAlignV2'):
        _extractor(dict(type='RoIAlignV2', output_size=7))
    with pytest.raises(ValueError, match='spatial_scale'):
        _extractor(dict(type='RoIAlign', output_size=7, spatial_scale=0.5))
