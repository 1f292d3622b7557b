import pytest
import torch
import torch.nn.functional as F

from mmdet_lite.models import build_loss
from mmdet_lite.models.losses import CrossEntropyLoss, binary_cross_entropy, cross_entropy


def _inputs(n=12, c=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, c, generator=g), torch.randint(0, c, (n, ), generator=g)


def test_softmax_against_functional():
    pred, label = _inputs()
    loss = build_loss(dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=2.0))
    assert torch.allclose(loss(pred, label), 2 * F.cross_entropy(pred, label))
    # sample weights and avg_factor: sum(w * ce) / avg_factor
    w = torch.rand(12)
    ce = F.cross_entropy(pred, label, reduction='none')
    assert torch.allclose(loss(pred, label, weight=w, avg_factor=3.),
                          2 * (w * ce).sum() / 3., atol=1e-6)
    assert torch.allclose(loss(pred, label, reduction_override='none'), 2 * ce)
    assert torch.allclose(loss(pred, label, reduction_override='sum'), 2 * ce.sum())
    # class weights as F.cross_entropy's weight (but averaged over samples, as mmdet does)
    cw = [1., 2., 3., 4., 5.]
    weighted = CrossEntropyLoss(class_weight=cw)(pred, label)
    expected = F.cross_entropy(pred, label, weight=torch.tensor(cw), reduction='none').mean()
    assert torch.allclose(weighted, expected)
    with pytest.raises(ValueError, match='avg_factor'):
        loss(pred, label, avg_factor=2., reduction_override='sum')
    with pytest.raises(ValueError, match='reduction_override'):
        loss(pred, label, reduction_override='max')


def test_ignore_index_and_avg_non_ignore():
    pred, label = _inputs()
    label[:4] = 255
    plain = CrossEntropyLoss(ignore_index=255)(pred, label)
    # ignored samples count 0 but still divide the mean
    assert torch.allclose(plain, F.cross_entropy(pred, label, ignore_index=255) * 8 / 12)
    non_ignore = CrossEntropyLoss(ignore_index=255, avg_non_ignore=True)(pred, label)
    assert torch.allclose(non_ignore, F.cross_entropy(pred, label, ignore_index=255))
    assert torch.allclose(cross_entropy(pred, label, ignore_index=255, avg_non_ignore=True),
                          non_ignore)


def test_sigmoid_against_functional():
    pred, label = _inputs(c=4)
    label[:3] = 4  # background: all-zero one-hot
    onehot = F.one_hot(label, 5)[:, :4].float()
    loss = CrossEntropyLoss(use_sigmoid=True)
    assert torch.allclose(loss(pred, label), F.binary_cross_entropy_with_logits(pred, onehot))
    w = torch.rand(12)
    expected = (F.binary_cross_entropy_with_logits(pred, onehot, reduction='none') *
                w[:, None]).sum() / 7.
    assert torch.allclose(loss(pred, label, weight=w, avg_factor=7.), expected, atol=1e-6)
    # targets of pred's shape are used directly (e.g. RPN objectness with one channel)
    t = torch.rand(12, 4).round()
    assert torch.allclose(binary_cross_entropy(pred, t),
                          F.binary_cross_entropy_with_logits(pred, t))
    # class_weight is the positive weight of each class
    cw = [1., 2., 3., 4.]
    assert torch.allclose(
        CrossEntropyLoss(use_sigmoid=True, class_weight=cw)(pred, label),
        F.binary_cross_entropy_with_logits(pred, onehot, pos_weight=torch.tensor(cw)))


def test_mask_loss():
    g = torch.Generator().manual_seed(1)
    pred = torch.randn(3, 4, 7, 7, generator=g)
    target = torch.rand(3, 7, 7, generator=g).round()
    labels = torch.tensor([2, 0, 3])
    loss = build_loss(dict(type='CrossEntropyLoss', use_mask=True, loss_weight=1.0))
    out = loss(pred, target, labels)
    expected = F.binary_cross_entropy_with_logits(pred[torch.arange(3), labels], target)
    assert out.shape == (1, ) and torch.allclose(out[0], expected)
    with pytest.raises(ValueError, match='use_sigmoid'):
        CrossEntropyLoss(use_sigmoid=True, use_mask=True)


def test_empty_inputs():
    pred = torch.zeros((0, 5), requires_grad=True)
    label = torch.zeros((0, ), dtype=torch.long)
    out = CrossEntropyLoss()(pred, label, avg_factor=1.)
    assert out.item() == 0.
    out.backward()
    sig = CrossEntropyLoss(use_sigmoid=True)(pred, label, weight=torch.zeros(0), avg_factor=1.)
    assert sig.item() == 0.
