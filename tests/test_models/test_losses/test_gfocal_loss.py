import pytest
import torch
import torch.nn.functional as F

from mmdet_lite.models import build_loss
from mmdet_lite.models.losses import (DistributionFocalLoss, QualityFocalLoss,
                                      distribution_focal_loss, quality_focal_loss)
from ._mmdet2_losses import check_reductions, ref


def test_qfl_worked_value():
    # one positive of class 1 with IoU target 0.6, one negative; beta = 2
    pred = torch.tensor([[0.5, -0.2], [1.0, -1.0]])
    labels = torch.tensor([1, 2])
    scores = torch.tensor([0.6, 0.])
    p = pred.sigmoid()
    bce0 = F.binary_cross_entropy_with_logits(pred, torch.zeros(2, 2), reduction='none')
    expected = bce0 * p**2
    expected[0, 1] = (F.binary_cross_entropy_with_logits(pred[0, 1], torch.tensor(0.6)) *
                      (0.6 - p[0, 1]).abs()**2)
    out = quality_focal_loss(pred, (labels, scores), reduction='none')
    assert torch.allclose(out, expected.sum(1))


def test_qfl_against_mmdet228():
    pred, labels, scores, weight = (ref(f'qfl/{k}') for k in ('pred', 'labels', 'scores',
                                                              'weight'))
    loss = build_loss(dict(type='QualityFocalLoss', use_sigmoid=True, beta=2.0, loss_weight=1.5))
    check_reductions('qfl', loss, pred, (labels, scores), weight)
    prob = QualityFocalLoss(activated=True)(pred.sigmoid(), (labels, scores), weight)
    assert torch.allclose(prob, ref('qfl/out_prob'), atol=1e-6)
    with pytest.raises(ValueError, match='sigmoid'):
        QualityFocalLoss(use_sigmoid=False)


def test_dfl_worked_value_and_against_mmdet228():
    # target 2.3 between bins 2 and 3: 0.7 * CE(bin 2) + 0.3 * CE(bin 3)
    pred = torch.randn(1, 5)
    logp = F.log_softmax(pred, 1)[0]
    out = distribution_focal_loss(pred, torch.tensor([2.3]), reduction='none')
    assert torch.allclose(out, -(0.7 * logp[2] + 0.3 * logp[3]).view(1), atol=1e-6)
    pred, target, weight = (ref(f'dfl/{k}') for k in ('pred', 'target', 'weight'))
    check_reductions('dfl', DistributionFocalLoss(loss_weight=0.25), pred, target, weight)


def test_gfl_losses_empty():
    pred = torch.zeros(0, 4, requires_grad=True)
    out = QualityFocalLoss()(pred, (torch.zeros(0, dtype=torch.long), torch.zeros(0)),
                             avg_factor=1.)
    assert out.item() == 0
    out.backward()
    out = DistributionFocalLoss()(torch.zeros(0, 17, requires_grad=True), torch.zeros(0),
                                  reduction_override='sum')
    assert out.item() == 0
