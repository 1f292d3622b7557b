import pytest
import torch

from mmdet_lite.core import (filter_scores_and_topk, flip_tensor, multi_apply, reduce_mean,
                             select_single_mlvl, sorted_topk, unmap)


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


def test_sorted_topk_is_a_stable_sort_prefix():
    gen = torch.Generator().manual_seed(0)
    for trial in range(60):
        n = int(torch.randint(1, 200, (), generator=gen))
        # integer values: many ties, also at the k-th place
        values = (torch.randint(0, 12, (n,), generator=gen).float() if trial % 2
                  else torch.rand(n, generator=gen))
        ref_values, ref_idxs = values.sort(descending=True, stable=True)
        for k in (0, 1, n // 3, n - 1, n, n + 5):
            top, idxs = sorted_topk(values, k)
            assert torch.equal(top, ref_values[:k]) and torch.equal(idxs, ref_idxs[:k])
    top, idxs = sorted_topk(torch.tensor([1., float('nan'), 3., float('nan')]), 3)
    assert idxs.tolist() == [1, 3, 2] and top[2] == 3
    with pytest.raises(ValueError, match='1-d'):
        sorted_topk(torch.zeros(2, 2), 1)


def test_filter_scores_and_topk_equals_threshold_then_sort():
    gen = torch.Generator().manual_seed(1)
    for trial in range(40):
        rows, cols = int(torch.randint(1, 30, (), generator=gen)), 4
        scores = torch.randint(0, 10, (rows, cols), generator=gen).float() / 10
        thr, topk = 0.35, int(torch.randint(1, rows * cols + 3, (), generator=gen))
        valid = scores > thr
        ref_scores, order = scores[valid].sort(descending=True, stable=True)
        ref_pairs = valid.nonzero()[order[:topk]]
        s, labels, keep, res = filter_scores_and_topk(scores, thr, topk, torch.arange(rows))
        assert torch.equal(s, ref_scores[:topk])
        assert torch.equal(keep, ref_pairs[:, 0]) and torch.equal(labels, ref_pairs[:, 1])
        assert torch.equal(res, keep)
    scores = torch.tensor([[0.9, float('nan')], [0.2, 0.7], [float('nan'), 0.6]])
    s, labels, keep, _ = filter_scores_and_topk(scores, 0.5, 2)
    assert s.tolist() == pytest.approx([0.9, 0.7]) and keep.tolist() == [0, 1]


def test_reduce_mean_and_flip():
    t = torch.tensor([1., 2.])
    assert torch.equal(reduce_mean(t), t)  # not distributed: unchanged
    x = torch.arange(6.).view(1, 1, 2, 3)
    assert flip_tensor(x, 'horizontal')[0, 0, 0].tolist() == [2., 1., 0.]
    assert flip_tensor(x, 'diagonal')[0, 0, 0].tolist() == [5., 4., 3.]
    with pytest.raises(ValueError):
        flip_tensor(x[0], 'horizontal')
