import math

import pytest
import torch

from mmdet_lite.core import DeltaXYWHBBoxCoder, build_bbox_coder


def _random_boxes(n, seed=0, size=50.):
    g = torch.Generator().manual_seed(seed)
    xy = torch.rand(n, 2, generator=g) * size
    wh = torch.rand(n, 2, generator=g) * size + 1
    return torch.cat([xy, xy + wh], dim=1)


def test_worked_delta():
    coder = DeltaXYWHBBoxCoder(target_means=(0., 0., 0., 0.), target_stds=(0.1, 0.1, 0.2, 0.2))
    prior = torch.tensor([[0., 0., 10., 10.]])   # centre (5, 5), 10 x 10
    gt = torch.tensor([[2., 4., 12., 24.]])      # centre (7, 14), 10 x 20
    # dx = 2/10, dy = 9/10, dw = log 1, dh = log 2, divided by the stds
    expected = torch.tensor([[0.2 / 0.1, 0.9 / 0.1, 0., math.log(2) / 0.2]])
    deltas = coder.encode(prior, gt)
    assert torch.allclose(deltas, expected, atol=1e-5)
    assert torch.allclose(coder.decode(prior, deltas), gt, atol=1e-4)


def test_round_trip_and_means():
    coder = build_bbox_coder(dict(type='DeltaXYWHBBoxCoder', target_means=(.1, -.1, .05, 0.),
                                  target_stds=(1., 1., 1., 1.)))
    priors, gts = _random_boxes(30, 0), _random_boxes(30, 1)
    deltas = coder.encode(priors, gts)
    assert torch.allclose(coder.decode(priors, deltas), gts, atol=1e-3)
    # means shift the encoded deltas
    plain = DeltaXYWHBBoxCoder().encode(priors, gts)
    assert torch.allclose(deltas, plain - torch.tensor([.1, -.1, .05, 0.]), atol=1e-5)


def test_clip_and_wh_ratio_clip():
    coder = DeltaXYWHBBoxCoder()
    prior = torch.tensor([[0., 0., 10., 10.]])
    # dw = 10 is clamped to |log(16/1000)|: w = 10 * 1000 / 16 = 625
    big = coder.decode(prior, torch.tensor([[0., 0., 10., 0.]]))
    assert big[0, 2] - big[0, 0] == pytest.approx(625., rel=1e-4)
    clipped = coder.decode(prior, torch.tensor([[0., 0., 10., 0.]]), max_shape=(20, 30, 3))
    assert clipped.tolist() == [[0., 0., 30., 10.]]
    unclipped = DeltaXYWHBBoxCoder(clip_border=False).decode(
        prior, torch.tensor([[0., 0., 10., 0.]]), max_shape=(20, 30))
    assert unclipped[0, 0] < 0
    # add_ctr_clamp: the centre moves at most ctr_clamp pixels
    ctr = DeltaXYWHBBoxCoder(add_ctr_clamp=True, ctr_clamp=4).decode(
        prior, torch.tensor([[5., 0., 0., 0.]]))
    assert ctr.tolist() == [[4., 0., 14., 10.]]


def test_class_specific_and_batched():
    coder = DeltaXYWHBBoxCoder(target_stds=(0.1, 0.1, 0.2, 0.2))
    priors = _random_boxes(6, 2)
    gts_a, gts_b = _random_boxes(6, 3), _random_boxes(6, 4)
    deltas = torch.cat([coder.encode(priors, gts_a), coder.encode(priors, gts_b)], dim=1)
    decoded = coder.decode(priors, deltas)  # (N, 4 * C)
    assert decoded.shape == (6, 8)
    assert torch.allclose(decoded[:, :4], gts_a, atol=1e-3)
    assert torch.allclose(decoded[:, 4:], gts_b, atol=1e-3)

    # batched (B, N, 4) with one max_shape per image equals image-wise decoding
    batch_priors = torch.stack([priors, priors.flip(0)])
    batch_deltas = torch.stack([deltas[:, :4], deltas[:, 4:]])
    shapes = [(30, 40, 3), (25, 60, 3)]
    out = coder.decode(batch_priors, batch_deltas, max_shape=shapes)
    for i in range(2):
        single = coder.decode(batch_priors[i], batch_deltas[i], max_shape=shapes[i])
        assert torch.allclose(out[i], single)
    # a (B, 2) tensor of shapes works the same
    out_t = coder.decode(batch_priors, batch_deltas, max_shape=torch.tensor([[30, 40], [25, 60]]))
    assert torch.allclose(out_t, out)


def test_empty_and_bad_shapes():
    coder = DeltaXYWHBBoxCoder()
    empty = torch.zeros((0, 4))
    assert coder.encode(empty, empty).shape == (0, 4)
    assert coder.decode(empty, empty, max_shape=(10, 10)).shape == (0, 4)
    assert coder.decode(empty, torch.zeros((0, 8))).shape == (0, 8)
    with pytest.raises(ValueError, match='priors'):
        coder.decode(torch.zeros((3, 4)), torch.zeros((2, 4)))
    with pytest.raises(ValueError):
        coder.encode(torch.zeros((3, 4)), torch.zeros((2, 4)))
