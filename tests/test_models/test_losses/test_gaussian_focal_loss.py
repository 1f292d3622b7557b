import math

import torch

from mmdet_lite.models import build_loss
from mmdet_lite.models.losses import GaussianFocalLoss
from ._mmdet2_losses import check_reductions, ref


def test_gaussian_focal_worked_value():
    # a peak predicted 0.8 and a negative next to it (target 0.5) predicted 0.3
    pred = torch.tensor([0.8, 0.3])
    target = torch.tensor([1.0, 0.5])
    out = GaussianFocalLoss(alpha=2.0, gamma=4.0)(pred, target, reduction_override='none')
    expected = [-math.log(0.8) * 0.2**2, -math.log(0.7) * 0.3**2 * 0.5**4]
    assert torch.allclose(out, torch.tensor(expected), atol=1e-6)


def test_gaussian_focal_against_mmdet228():
    pred, target, weight = (ref(f'gaussian_focal/{k}') for k in ('pred', 'target', 'weight'))
    loss = build_loss(dict(type='GaussianFocalLoss', alpha=2.0, gamma=4.0, loss_weight=1.0))
    check_reductions('gaussian_focal', loss, pred, target, weight)


def test_gaussian_focal_empty():
    pred = torch.zeros(0, requires_grad=True)
    out = GaussianFocalLoss()(pred, torch.zeros(0), reduction_override='sum')
    assert out.item() == 0
    out.backward()
