import pytest
import torch
import torch.nn.functional as F

from mmdet_lite.models import build_loss
from mmdet_lite.models.losses import SeesawLoss, seesaw_ce_loss
from ._mmdet2_losses import ref


def test_seesaw_against_mmdet228():
    loss = build_loss(dict(type='SeesawLoss', p=0.8, q=2.0, num_classes=5, loss_weight=1.0))
    assert set(loss.state_dict()) == {'cum_samples'}
    res1 = loss(ref('seesaw/score1'), ref('seesaw/labels1'), ref('seesaw/lw1'), avg_factor=10.)
    res2 = loss(ref('seesaw/score2'), ref('seesaw/labels2'))
    assert torch.allclose(res1['loss_cls_objectness'], ref('seesaw/obj1'))
    assert torch.allclose(res1['loss_cls_classes'], ref('seesaw/cls1'))
    assert torch.allclose(res2['loss_cls_objectness'], ref('seesaw/obj2'))
    assert torch.allclose(res2['loss_cls_classes'], ref('seesaw/cls2'))
    assert torch.equal(loss.cum_samples, ref('seesaw/cum_samples'))
    assert torch.allclose(loss.get_activation(ref('seesaw/score1')), ref('seesaw/activation'))
    acc = loss.get_accuracy(ref('seesaw/score1'), ref('seesaw/labels1'))
    assert torch.allclose(acc['acc_objectness'], ref('seesaw/acc_objectness'))
    assert torch.allclose(acc['acc_classes'], ref('seesaw/acc_classes'))
    summed = SeesawLoss(p=0.8, q=2.0, num_classes=5, return_dict=False)
    assert torch.allclose(summed(ref('seesaw/score1'), ref('seesaw/labels1'), ref('seesaw/lw1')),
                          ref('seesaw/out_nodict'))
    none = SeesawLoss(p=0.0, q=1.0, num_classes=5)(ref('seesaw/score1'), ref('seesaw/labels1'),
                                                    reduction_override='none')
    assert torch.allclose(none['loss_cls_classes'], ref('seesaw/out_none'))


def test_seesaw_ce_reduces_to_cross_entropy_without_factors():
    score = torch.randn(6, 4)
    labels = torch.tensor([0, 1, 2, 3, 0, 1])
    out = seesaw_ce_loss(score, labels, None, torch.ones(4), 4, p=0., q=0., eps=1e-2)
    assert torch.allclose(out, F.cross_entropy(score, labels))


def test_seesaw_mitigation_worked_value():
    # class 0 seen 100 times, class 1 10 times: a sample of class 0 scales exp(logit_1) by
    # (10 / 100)^p; a sample of class 1 is not mitigated
    score = torch.zeros(2, 2)
    labels = torch.tensor([0, 1])
    out = seesaw_ce_loss(score, labels, None, torch.tensor([100., 10.]), 2, p=1.0, q=0.,
                         eps=1e-2, reduction='none')
    assert torch.allclose(out, torch.tensor([torch.log(torch.tensor(1.1)).item(),
                                             torch.log(torch.tensor(2.)).item()]))


def test_seesaw_no_foreground_and_channel_checks():
    loss = SeesawLoss(num_classes=3)
    score = torch.randn(4, 5, requires_grad=True)
    res = loss(score, torch.full((4, ), 3))
    assert res['loss_cls_classes'].item() == 0
    (res['loss_cls_classes'] + res['loss_cls_objectness']).backward()
    assert loss.cum_samples.tolist() == [0, 0, 0, 4]
    assert loss.get_cls_channels(3) == 5
    with pytest.raises(ValueError, match='num_classes'):
        loss.get_cls_channels(4)
    with pytest.raises(ValueError, match='num_classes \\+ 2'):
        loss(torch.randn(2, 4), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match='softmax'):
        SeesawLoss(use_sigmoid=True)
