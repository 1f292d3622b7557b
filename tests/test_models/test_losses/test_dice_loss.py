import pytest
import torch

from mmdet_lite.models import build_loss
from mmdet_lite.models.losses import DiceLoss
from ._mmdet2_losses import ref


def test_dice_worked_value():
    pred = torch.tensor([[1., 1., 0., 0.]])
    target = torch.tensor([[1., 0., 1., 0.]])
    # V-Net form: 1 - 2 * 1 / (2 + e + 2 + e); naive: 1 - (2 + e) / (2 + 2 + e)
    out = DiceLoss(activate=False, eps=0.)(pred, target)
    assert torch.allclose(out, torch.tensor(0.5))
    naive = DiceLoss(activate=False, naive_dice=True, eps=1.)(pred, target)
    assert torch.allclose(naive, torch.tensor(1 - 3 / 5))


def test_dice_against_mmdet228():
    pred, target, weight = (ref(f'dice/{k}') for k in ('pred', 'target', 'weight'))
    loss = build_loss(dict(type='DiceLoss', use_sigmoid=True, activate=True, loss_weight=2.0))
    assert torch.allclose(loss(pred, target, weight), ref('dice/out'))
    assert torch.allclose(DiceLoss(naive_dice=True, eps=1.)(pred, target), ref('dice/out_naive'))
    assert torch.allclose(DiceLoss()(pred, target, weight, avg_factor=3.), ref('dice/out_avg'))
    assert torch.allclose(DiceLoss(activate=False)(pred.sigmoid(), target,
                                                   reduction_override='none'),
                          ref('dice/out_prob'))


def test_dice_empty_and_errors():
    out = DiceLoss()(torch.zeros(0, 4, 4), torch.zeros(0, 4, 4), reduction_override='sum')
    assert out.item() == 0
    with pytest.raises(ValueError, match='weight'):
        DiceLoss()(torch.zeros(2, 4), torch.zeros(2, 4), torch.ones(3))
    with pytest.raises(ValueError, match='sigmoid'):
        DiceLoss(use_sigmoid=False)
