import pytest
import torch

from mmdet_lite.core import (filter_scores_and_topk, flip_tensor, multi_apply, reduce_mean,
                             select_single_mlvl, unmap)


def test_multi_apply():
    def add_mul(a, b, k=1):
        return a + b, a * b * k

    sums, prods = multi_apply(add_mul, [1, 2, 3], [4, 5, 6], k=10)
    assert sums == [5, 7, 9] and prods == [40, 100, 180]
    assert multi_apply(add_mul, [], []) == ()


def test_unmap():
    data = torch.tensor([7, 8])
    inds = torch.tensor([False, True, False, True])
    assert unmap(data, 4, inds, fill=-1).tolist() == [-1, 7, -1, 8]
    data2 = torch.tensor([[1., 2.], [3., 4.]])
    assert unmap(data2, 4, inds.long()).tolist() == [[0, 0], [1, 2], [0, 0], [3, 4]]
    assert unmap(torch.zeros((0, 4)), 3, torch.zeros(3, dtype=torch.bool)).shape == (3, 4)


def test_select_and_topk():
    levels = [torch.arange(6.).view(2, 3).requires_grad_(), torch.arange(4.).view(2, 2)]
    picked = select_single_mlvl(levels, 1)
    assert [p.tolist() for p in picked] == [[3., 4., 5.], [2., 3.]]
    assert not picked[0].requires_grad
    assert select_single_mlvl(levels, 0, detach=False)[0].requires_grad

    scores = torch.tensor([[0.1, 0.9], [0.8, 0.05], [0.3, 0.6]])
    extra = torch.tensor([10, 11, 12])
    s, labels, keep, res = filter_scores_and_topk(scores, 0.2, 3, dict(x=extra))
    assert s.tolist() == pytest.approx([0.9, 0.8, 0.6])
    assert labels.tolist() == [1, 0, 1] and keep.tolist() == [0, 1, 2]
    assert res['x'].tolist() == [10, 11, 12]
    s, labels, keep, res = filter_scores_and_topk(scores, 0.95, 3)
    assert s.numel() == 0 and keep.numel() == 0 and res is None


def test_reduce_mean_and_flip():
    t = torch.tensor([1., 2.])
    assert torch.equal(reduce_mean(t), t)  # not distributed: unchanged
    x = torch.arange(6.).view(1, 1, 2, 3)
    assert flip_tensor(x, 'horizontal')[0, 0, 0].tolist() == [2., 1., 0.]
    assert flip_tensor(x, 'diagonal')[0, 0, 0].tolist() == [5., 4., 3.]
    with pytest.raises(ValueError):
        flip_tensor(x[0], 'horizontal')
