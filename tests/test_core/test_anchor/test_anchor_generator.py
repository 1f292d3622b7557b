import math

import pytest
import torch

from mmdet_lite.core import (AnchorGenerator, anchor_inside_flags, build_anchor_generator,
                             build_prior_generator, images_to_levels)


def test_single_level_anchors_by_hand():
    # base size 4 (= stride), ratio h/w = 0.25 -> w = 4 * 2 * s, h = 4 * 0.5 * s
    gen = AnchorGenerator(strides=[4], ratios=[0.25, 1.0], scales=[2.0])
    assert gen.num_base_anchors == [2] and gen.num_base_priors == [2] and gen.num_levels == 1
    # centre (0, 0): ratio 0.25 -> 16 x 4, ratio 1 -> 8 x 8
    expected_base = torch.tensor([[-8., -2., 8., 2.], [-4., -4., 4., 4.]])
    assert torch.allclose(gen.base_anchors[0], expected_base)

    anchors = gen.grid_priors([(2, 3)], device='cpu')[0]
    assert anchors.shape == (2 * 3 * 2, 4) and anchors.dtype == torch.float32
    expected = []
    for y in (0, 4):  # rows first, then columns, then base anchors
        for x in (0, 4, 8):
            for base in expected_base.tolist():
                expected.append([base[0] + x, base[1] + y, base[2] + x, base[3] + y])
    assert torch.allclose(anchors, torch.tensor(expected))
    # grid_anchors is the deprecated alias
    with pytest.warns(DeprecationWarning):
        assert torch.equal(gen.grid_anchors([(2, 3)], device='cpu')[0], anchors)
    single = gen.single_level_grid_priors((2, 3), level_idx=0, dtype=torch.float64)
    assert single.dtype == torch.float64 and torch.allclose(single.float(), anchors)


def test_center_offset_scale_major_and_octave_scales():
    gen = AnchorGenerator(strides=[(8, 4)], ratios=[1.0], scales=[1.0], center_offset=0.5)
    # base size = min stride = 4, centre (2, 2)
    assert gen.base_sizes == [4]
    assert torch.allclose(gen.base_anchors[0], torch.tensor([[0., 0., 4., 4.]]))
    anchors = gen.grid_priors([(2, 2)])[0]
    # x shifts by stride_w = 8, y by stride_h = 4
    assert torch.allclose(anchors, torch.tensor([[0., 0., 4., 4.], [8., 0., 12., 4.],
                                                 [0., 4., 4., 8.], [8., 4., 12., 8.]]))

    # RetinaNet scales: octave_base_scale * 2 ** (i / scales_per_octave)
    gen = AnchorGenerator(strides=[8], ratios=[1.0], octave_base_scale=4, scales_per_octave=2)
    sizes = gen.base_anchors[0][:, 2] - gen.base_anchors[0][:, 0]
    assert torch.allclose(sizes, torch.tensor([32., 32 * math.sqrt(2)]))

    # ordering: scale-major lists all scales of the first ratio first
    kw = dict(strides=[10], ratios=[0.25, 4.0], scales=[1.0, 2.0])
    major = AnchorGenerator(scale_major=True, **kw).base_anchors[0]
    minor = AnchorGenerator(scale_major=False, **kw).base_anchors[0]
    w_major = (major[:, 2] - major[:, 0]).tolist()
    w_minor = (minor[:, 2] - minor[:, 0]).tolist()
    assert w_major == pytest.approx([20., 40., 5., 10.])
    assert w_minor == pytest.approx([20., 5., 40., 10.])


def test_multi_level_and_builders():
    cfg = dict(type='AnchorGenerator', scales=[8], ratios=[0.5, 1.0, 2.0], strides=[4, 8, 16])
    gen = build_prior_generator(cfg)
    with pytest.warns(DeprecationWarning):
        assert isinstance(build_anchor_generator(cfg), AnchorGenerator)
    sizes = [(8, 10), (4, 5), (2, 3)]
    anchors = gen.grid_priors(sizes)
    assert [a.shape[0] for a in anchors] == [8 * 10 * 3, 4 * 5 * 3, 2 * 3 * 3]
    # RPN base anchors of stride 4, ratio 0.5, scale 8: w = 32 * sqrt(2), h = 32 / sqrt(2)
    w, h = 32 * math.sqrt(2), 32 / math.sqrt(2)
    assert torch.allclose(anchors[0][0], torch.tensor([-w / 2, -h / 2, w / 2, h / 2]))
    with pytest.raises(ValueError, match='levels'):
        gen.grid_priors(sizes[:2])
    with pytest.raises(ValueError, match='scales'):
        AnchorGenerator(strides=[4], ratios=[1.0])
    with pytest.raises(ValueError, match='base_sizes'):
        AnchorGenerator(strides=[4, 8], ratios=[1.0], scales=[1.0], base_sizes=[4])
    # sparse priors pick the same anchors as the dense grid
    idx = torch.tensor([0, 5, 17, 239])
    assert torch.allclose(gen.sparse_priors(idx, sizes[0], 0), anchors[0][idx])


def test_valid_flags_and_inside_flags():
    gen = AnchorGenerator(strides=[8, 16], ratios=[1.0, 2.0], scales=[1.0])
    # padded batch feature maps 4x6 and 2x3, but this image is padded to 20 x 36
    flags = gen.valid_flags([(4, 6), (2, 3)], (20, 36, 3))
    # ceil(20 / 8) = 3 rows, ceil(36 / 8) = 5 columns valid
    grid = flags[0].view(4, 6, 2)
    assert grid[:3, :5].all() and not grid[3].any() and not grid[:, 5].any()
    grid = flags[1].view(2, 3, 2)  # ceil(20/16)=2, ceil(36/16)=3: everything valid
    assert grid.all()

    anchors = torch.tensor([[0., 0., 10., 10.], [-1., 0., 5., 5.], [0., 0., 20., 10.],
                            [0., 0., 5., 5.]])
    valid = torch.tensor([True, True, True, False])
    assert anchor_inside_flags(anchors, valid, (12, 20)).tolist() == [True, False, False, False]
    assert anchor_inside_flags(anchors, valid, (12, 20), allowed_border=1).tolist() == [
        True, True, True, False]
    assert anchor_inside_flags(anchors, valid, (12, 20), allowed_border=-1).tolist() == [
        True, True, True, False]


def test_images_to_levels():
    targets = [torch.arange(5), torch.arange(5) + 10]
    levels = images_to_levels(targets, [3, 2])
    assert levels[0].tolist() == [[0, 1, 2], [10, 11, 12]]
    assert levels[1].tolist() == [[3, 4], [13, 14]]


def test_torchvision_options():
    # round_base_anchors: ratio 0.5 at size 32 -> w = 32 * sqrt(2) = 45.25, h = 22.63
    gen = AnchorGenerator(strides=[4], ratios=[0.5], scales=[8], round_base_anchors=True)
    assert gen.base_anchors[0].tolist() == [[-23., -11., 23., 11.]]
    # strides_from_input: input 800 x 1216 (from level 0); a 13-row level has stride 800 // 13
    gen = AnchorGenerator(strides=[32, 64], ratios=[1.0], scales=[1.0], strides_from_input=True)
    coarse = gen.grid_priors([(25, 38), (13, 19)])[1].view(13, 19, 4)
    assert coarse[1, 1, 0] - coarse[0, 0, 0] == 1216 // 19
    assert coarse[1, 1, 1] - coarse[0, 0, 1] == 800 // 13
