import math

import pytest
import torch
from torchvision.ops import complete_box_iou_loss, distance_box_iou_loss

from mmdet_lite.models import build_loss
from mmdet_lite.models.losses import BoundedIoULoss, CIoULoss, DIoULoss, GIoULoss
from ._mmdet2_losses import check_reductions, ref


def test_diou_worked_value():
    # two unit squares side by side: IoU 0, centres 1 apart, enclosing box 2 x 1 (diag^2 = 5)
    pred = torch.tensor([[0., 0., 1., 1.]])
    target = torch.tensor([[1., 0., 2., 1.]])
    assert torch.allclose(DIoULoss(eps=0)(pred, target), torch.tensor(1 + 1 / 5))
    # identical boxes: 0
    assert DIoULoss()(target, target).abs().item() < 1e-6


def test_ciou_worked_value():
    # same centre, 2 x 2 in 4 x 2: IoU 0.5 (alpha = 0), no centre penalty
    pred = torch.tensor([[1., 0., 3., 2.]])
    target = torch.tensor([[0., 0., 4., 2.]])
    assert torch.allclose(CIoULoss(eps=0)(pred, target), torch.tensor(0.5))
    # 3 x 2 in 4 x 2, shared left edge: IoU 0.75, so alpha * v counts
    pred = torch.tensor([[0., 0., 3., 2.]])
    iou = 0.75
    rho2_over_c2 = 0.5**2 / (4**2 + 2**2)
    v = 4 / math.pi**2 * (math.atan(2.) - math.atan(1.5))**2
    alpha = v / (1 - iou + v)
    expected = 1 - (iou - rho2_over_c2 - alpha * v)
    assert torch.allclose(CIoULoss(eps=0)(pred, target), torch.tensor(expected, dtype=torch.float))


def test_diou_ciou_against_torchvision():
    g = torch.Generator().manual_seed(0)
    target = torch.rand(10, 2, generator=g) * 20
    target = torch.cat([target, target + 5 + torch.rand(10, 2, generator=g) * 10], 1)
    pred = target + torch.randn(10, 4, generator=g)
    assert torch.allclose(DIoULoss(eps=1e-7)(pred, target, reduction_override='none'),
                          distance_box_iou_loss(pred, target, eps=1e-7), atol=1e-5)
    assert torch.allclose(CIoULoss(eps=1e-7)(pred, target, reduction_override='none'),
                          complete_box_iou_loss(pred, target, eps=1e-7), atol=1e-5)


@pytest.mark.parametrize('name', ['diou', 'ciou', 'giou'])
def test_iou_variants_against_mmdet228(name):
    pred, target, weight = (ref(f'{name}/{k}') for k in ('pred', 'target', 'weight'))
    loss = build_loss(dict(type={'diou': 'DIoULoss', 'ciou': 'CIoULoss',
                                 'giou': 'GIoULoss'}[name], loss_weight=1.5))
    check_reductions(name, loss, pred, target, weight, atol=1e-5)
    # (n, 4) weights are averaged per box
    weight4 = ref('bounded_iou/weight')
    assert torch.allclose(type(loss)()(pred, target, weight4), ref(f'{name}/out_weight4'))


def test_bounded_iou_against_mmdet228_and_worked_value():
    pred, target, weight = (ref(f'bounded_iou/{k}') for k in ('pred', 'target', 'weight'))
    loss = build_loss(dict(type='BoundedIoULoss', beta=0.2, eps=1e-3, loss_weight=2.0))
    check_reductions('bounded_iou', loss, pred, target, weight)
    # a box 2 px to the right of a 10 x 10 target: dx term 1 - 6/14 (smooth-L1 linear part)
    out = BoundedIoULoss(eps=0)(torch.tensor([[2., 0., 12., 10.]]),
                                torch.tensor([[0., 0., 10., 10.]]), reduction_override='none')
    assert torch.allclose(out, torch.tensor([[1 - 6 / 14 - 0.1, 0., 0., 0.]]))
    # per-box (n,) weights broadcast over the four terms
    w = torch.rand(len(pred))
    assert torch.allclose(loss(pred, target, w), loss(pred, target, w[:, None].expand(-1, 4)))


def test_bounded_iou_no_gradient_into_target():
    pred = torch.tensor([[1., 1., 9., 12.]], requires_grad=True)
    target = torch.tensor([[0., 0., 10., 10.]], requires_grad=True)
    BoundedIoULoss()(pred, target).backward()
    assert pred.grad.abs().sum() > 0 and target.grad is None


@pytest.mark.parametrize('loss', [BoundedIoULoss(), DIoULoss(), CIoULoss(), GIoULoss()])
def test_empty_and_zero_weight(loss):
    pred = torch.zeros(0, 4, requires_grad=True)
    out = loss(pred, torch.zeros(0, 4))
    assert out.item() == 0
    out.backward()
    boxes = torch.tensor([[0., 0., 4., 4.], [1., 1., 5., 6.]], requires_grad=True)
    out = loss(boxes, boxes.detach() + 1, weight=torch.zeros(2))
    assert out.item() == 0
    out.backward()
    assert boxes.grad is not None
