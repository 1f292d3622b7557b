import math

import torch

from mmdet_lite.models import build_loss
from mmdet_lite.models.losses import BalancedL1Loss, MSELoss, balanced_l1_loss
from ._mmdet2_losses import check_reductions, ref


def test_balanced_l1_worked_values():
    # alpha=0.5, gamma=1.5 -> b = e^3 - 1; at x = 0 the loss is 0, at x = beta both pieces meet
    b = math.e**3 - 1
    pred = torch.tensor([[0., 0.5, 1.0, 3.0]])
    target = torch.zeros(1, 4)
    out = balanced_l1_loss(pred, target, reduction='none')
    inner = 0.5 / b * (b * 0.5 + 1) * math.log(b * 0.5 + 1) - 0.5 * 0.5
    expected = torch.tensor([[0., inner, 1.5 + 1.5 / b - 0.5, 4.5 + 1.5 / b - 0.5]])
    assert torch.allclose(out, expected, atol=1e-6)
    # continuous at x = beta
    left = balanced_l1_loss(torch.tensor([[1 - 1e-4]]), torch.zeros(1, 1), reduction='none')
    assert abs(left.item() - expected[0, 2].item()) < 1e-3


def test_balanced_l1_against_mmdet228():
    pred, target, weight = (ref(f'balanced_l1/{k}') for k in ('pred', 'target', 'weight'))
    loss = build_loss(dict(type='BalancedL1Loss', loss_weight=1.5))
    check_reductions('balanced_l1', loss, pred, target, weight)
    other = BalancedL1Loss(alpha=0.3, gamma=2.0, beta=0.5)(pred, target)
    assert torch.allclose(other, ref('balanced_l1_beta/out'))


def test_mse_against_mmdet228_and_functional():
    pred, target, weight = (ref(f'mse/{k}') for k in ('pred', 'target', 'weight'))
    check_reductions('mse', MSELoss(loss_weight=2.0), pred, target, weight)
    assert torch.allclose(MSELoss()(pred, target), torch.nn.functional.mse_loss(pred, target))


def test_empty_targets_give_zero_with_gradient():
    pred = torch.zeros(0, 4, requires_grad=True)
    out = BalancedL1Loss()(pred, torch.zeros(0, 4))
    assert out.item() == 0
    out.backward()
    assert pred.grad.shape == (0, 4)
    assert BalancedL1Loss()(pred, torch.zeros(0, 4), avg_factor=0.).item() == 0
