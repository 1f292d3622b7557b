"""The sparse-backward RoIAlign gives torchvision's values and gradients."""
import pytest
import torch
from torchvision.ops import roi_align

from mmdet_lite.models.roi_heads.roi_extractors import roi_align_function
from mmdet_lite.models.roi_heads.roi_extractors.roi_align_function import (
    RoIAlignSparseGrad, roi_align_fast_backward, roi_align_matrix, threaded_roi_align)


def _rois(num: int, num_imgs: int, extent: float) -> torch.Tensor:
    gen = torch.Generator().manual_seed(0)
    xy = torch.rand(num, 2, generator=gen) * extent * 1.2 - 0.1 * extent
    wh = torch.rand(num, 2, generator=gen) * extent * 0.5 + 0.3
    ids = torch.randint(0, num_imgs, (num, 1), generator=gen).float()
    return torch.cat([ids, xy, xy + wh], dim=1)


@pytest.mark.parametrize('aligned', [True, False])
@pytest.mark.parametrize('sampling_ratio', [0, 1, 2])
def test_values_and_gradients_match_torchvision(aligned, sampling_ratio):
    torch.manual_seed(0)
    feats = torch.randn(2, 3, 12, 10, dtype=torch.float64, requires_grad=True)
    rois = _rois(40, 2, extent=40.0).double()
    out = RoIAlignSparseGrad.apply(feats, rois, (7, 7), 0.25, sampling_ratio, aligned)
    ref = roi_align(feats, rois, (7, 7), 0.25, sampling_ratio, aligned)
    grad = torch.randn_like(ref)
    (got,) = torch.autograd.grad((out * grad).sum(), feats)
    (want,) = torch.autograd.grad((ref * grad).sum(), feats)
    torch.testing.assert_close(out, ref, rtol=0, atol=1e-12)
    torch.testing.assert_close(got, want, rtol=1e-9, atol=1e-9)


def test_matrix_reproduces_a_worked_bin():
    # One RoI covering feature pixels [0, 2) x [0, 2), one output bin, one sample at (1.0, 1.0)
    # with aligned=False: the sample is exactly pixel (1, 1).
    rois = torch.tensor([[0.0, 0.0, 0.0, 2.0, 2.0]])
    weights = roi_align_matrix(rois, (1, 1, 3, 3), (1, 1), 1.0, 1, False).to_dense()
    expected = torch.zeros(1, 9)
    expected[0, 4] = 1.0
    torch.testing.assert_close(weights, expected)


def test_zero_rois_and_no_grad_paths():
    feats = torch.randn(1, 2, 6, 6, requires_grad=True)
    empty = roi_align_fast_backward(feats, torch.zeros(0, 5), (7, 7), 1.0, 2, True)
    assert empty.shape == (0, 2, 7, 7)
    empty.sum().backward()
    assert torch.equal(feats.grad, torch.zeros_like(feats))
    with torch.no_grad():
        out = roi_align_fast_backward(feats, _rois(5, 1, 6.0), (2, 2), 1.0, 0, True)
    torch.testing.assert_close(out, roi_align(feats.detach(), _rois(5, 1, 6.0), (2, 2), 1.0, 0, True))


@pytest.mark.parametrize('threads', [1, 2, 3])
def test_threaded_forward_equals_torchvision_exactly(monkeypatch, threads):
    monkeypatch.setattr(torch, 'get_num_threads', lambda: threads)
    torch.manual_seed(0)
    # an NHWC map (made contiguous once for all chunks), 2 images, 101 RoIs (uneven chunks)
    feats = torch.randn(2, 8, 20, 24).contiguous(memory_format=torch.channels_last)
    rois = _rois(101, 2, extent=80.0)
    calls = []
    monkeypatch.setattr(roi_align_function, 'roi_align',
                        lambda f, r, *a: calls.append(len(r)) or roi_align(f, r, *a))
    out = threaded_roi_align(feats, rois, (7, 7), 0.25, 2, True)
    assert torch.equal(out, roi_align(feats, rois, (7, 7), 0.25, 2, True))
    # min(threads, 101 // 32 = 3) chunks; one call when that is 1
    assert sorted(calls) == sorted(len(c) for c in rois.tensor_split(min(threads, 3)))
    # few RoIs: one call on this thread
    calls.clear()
    threaded_roi_align(feats, rois[:40], (7, 7), 0.25, 2, True)
    assert calls == [40]


def test_threaded_forward_keeps_autograd_and_sparse_backward(monkeypatch):
    monkeypatch.setattr(torch, 'get_num_threads', lambda: 2)
    torch.manual_seed(0)
    feats = torch.randn(2, 4, 12, 10, requires_grad=True)
    rois = _rois(80, 2, extent=40.0)
    out = roi_align_fast_backward(feats, rois, (7, 7), 0.25, 2, False)
    assert out.grad_fn is not None
    ref = roi_align(feats, rois, (7, 7), 0.25, 2, False)
    assert torch.equal(out, ref)
    grad = torch.randn_like(ref)
    (got,) = torch.autograd.grad((out * grad).sum(), feats)
    (want,) = torch.autograd.grad((ref * grad).sum(), feats)
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
