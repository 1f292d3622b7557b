import pytest
import torch
import torch.nn.functional as F
from torchvision.ops import box_iou, generalized_box_iou_loss

from mmdet_lite.models import build_loss
from mmdet_lite.models.losses import (GIoULoss, IoULoss, L1Loss, SmoothL1Loss, reduce_loss,
                                      weight_reduce_loss, weighted_loss)


def _boxes(n, seed):
    g = torch.Generator().manual_seed(seed)
    xy = torch.rand(n, 2, generator=g) * 30
    return torch.cat([xy, xy + torch.rand(n, 2, generator=g) * 20 + 1], dim=1)


def test_smooth_l1_and_l1_against_functional():
    pred, target = _boxes(10, 0), _boxes(10, 1)
    beta = 1.0 / 9.0
    loss = build_loss(dict(type='SmoothL1Loss', beta=beta, loss_weight=2.0))
    assert torch.allclose(loss(pred, target), 2 * F.smooth_l1_loss(pred, target, beta=beta))
    w = torch.rand(10, 4)
    per_elem = F.smooth_l1_loss(pred, target, beta=beta, reduction='none')
    assert torch.allclose(loss(pred, target, w, avg_factor=4.), 2 * (per_elem * w).sum() / 4.,
                          atol=1e-5)
    assert torch.allclose(L1Loss()(pred, target), F.l1_loss(pred, target))
    assert torch.allclose(L1Loss(loss_weight=.5)(pred, target, reduction_override='sum'),
                          .5 * F.l1_loss(pred, target, reduction='sum'))
    with pytest.raises(ValueError, match='same shape'):
        L1Loss()(pred, target[:, :2])


def test_iou_losses_against_torchvision():
    pred, target = _boxes(10, 2), _boxes(10, 3)
    target[:5] = pred[:5] + 2  # some overlapping pairs
    ious = torch.diagonal(box_iou(pred, target)).clamp(min=1e-6)
    assert torch.allclose(IoULoss(mode='linear')(pred, target), (1 - ious).mean(), atol=1e-6)
    assert torch.allclose(IoULoss(mode='log')(pred, target), (-ious.log()).mean(), atol=1e-4)
    assert torch.allclose(IoULoss(mode='square')(pred, target, reduction_override='none'),
                          1 - ious**2, atol=1e-6)
    giou = build_loss(dict(type='GIoULoss', loss_weight=2.0))
    expected = generalized_box_iou_loss(pred, target, reduction='none')
    assert torch.allclose(giou(pred, target, reduction_override='none'), 2 * expected, atol=1e-5)
    # (n, 4) weights are averaged per box
    w = torch.rand(10, 1).expand(10, 4).contiguous()
    assert torch.allclose(giou(pred, target, w, avg_factor=3.),
                          2 * (expected * w[:, 0]).sum() / 3., atol=1e-5)


def test_all_zero_weights_give_zero_with_gradient():
    pred = _boxes(4, 4).requires_grad_()
    target = _boxes(4, 5)
    for loss in (GIoULoss(), IoULoss()):
        out = loss(pred, target, weight=torch.zeros(4))
        assert out.item() == 0.
        out.backward()
        assert pred.grad is not None


def test_empty_inputs():
    empty = torch.zeros((0, 4), requires_grad=True)
    for loss in (SmoothL1Loss(), L1Loss(), GIoULoss(), IoULoss()):
        out = loss(empty, torch.zeros((0, 4)), avg_factor=1.)
        assert out.item() == 0.
        out.backward()


def test_weight_reduce_semantics():
    loss = torch.tensor([1., 2., 3., 4.])
    w = torch.tensor([1., 0., 1., 0.])
    assert weight_reduce_loss(loss, w).item() == 1.
    assert weight_reduce_loss(loss, w, reduction='sum').item() == 4.
    assert weight_reduce_loss(loss, w, avg_factor=2.).item() == pytest.approx(2.)
    assert weight_reduce_loss(loss, w, reduction='none').tolist() == [1., 0., 3., 0.]
    # avg_factor 0 (no positives) gives 0, not nan
    assert weight_reduce_loss(loss * 0, avg_factor=0).item() == 0.
    assert reduce_loss(loss, 'sum').item() == 10.
    with pytest.raises(ValueError, match='avg_factor'):
        weight_reduce_loss(loss, avg_factor=2., reduction='sum')

    @weighted_loss
    def sq(pred, target):
        return (pred - target)**2

    assert sq(loss, loss * 0, w, avg_factor=2.).item() == pytest.approx(5.)
