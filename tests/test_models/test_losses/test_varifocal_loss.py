import pytest
import torch
import torch.nn.functional as F

from mmdet_lite.models import build_loss
from mmdet_lite.models.losses import VarifocalLoss
from ._mmdet2_losses import check_reductions, ref


def test_varifocal_worked_value():
    # a positive with IoU 0.8 weighs 0.8; a negative alpha * p^gamma
    pred = torch.tensor([[1.0, -0.5]])
    target = torch.tensor([[0.8, 0.0]])
    p = pred.sigmoid()
    bce = F.binary_cross_entropy_with_logits(pred, target, reduction='none')
    expected = torch.stack([0.8 * bce[0, 0], 0.75 * p[0, 1]**2 * bce[0, 1]])
    out = VarifocalLoss()(pred, target, reduction_override='none')
    assert torch.allclose(out, expected.view(1, 2))
    plain = VarifocalLoss(iou_weighted=False)(pred, target, reduction_override='none')
    assert torch.allclose(plain[0, 0], bce[0, 0])


def test_varifocal_against_mmdet228():
    pred, target, weight = (ref(f'vfl/{k}') for k in ('pred', 'target', 'weight'))
    loss = build_loss(dict(type='VarifocalLoss', use_sigmoid=True, alpha=0.75, gamma=2.0,
                           iou_weighted=True, loss_weight=1.5))
    check_reductions('vfl', loss, pred, target, weight)
    assert torch.allclose(VarifocalLoss(iou_weighted=False)(pred, target),
                          ref('vfl/out_not_iou_weighted'))


def test_varifocal_empty_and_errors():
    pred = torch.zeros(0, 3, requires_grad=True)
    out = VarifocalLoss()(pred, torch.zeros(0, 3), avg_factor=0.)
    assert out.item() == 0
    out.backward()
    with pytest.raises(ValueError, match='same shape'):
        VarifocalLoss()(torch.zeros(2, 3), torch.zeros(2))
    with pytest.raises(ValueError, match='alpha'):
        VarifocalLoss(alpha=-1.)
