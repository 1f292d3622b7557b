import pytest
import torch
import torch.nn.functional as F

from mmdet_lite.models import build_loss
from mmdet_lite.models.losses import KnowledgeDistillationKLDivLoss
from ._mmdet2_losses import check_reductions, ref


def test_kd_against_formula_and_mmdet228():
    pred, soft, weight = (ref(f'kd/{k}') for k in ('pred', 'soft', 'weight'))
    loss = build_loss(dict(type='KnowledgeDistillationKLDivLoss', loss_weight=0.25, T=10))
    check_reductions('kd', loss, pred, soft, weight)
    T = 10.
    p_t = F.softmax(soft / T, 1)
    kl = (p_t * (p_t.log() - F.log_softmax(pred / T, 1))).mean(1) * T * T
    assert torch.allclose(loss(pred, soft, reduction_override='none'), 0.25 * kl, atol=1e-6)


def test_kd_teacher_gets_no_gradient_and_identical_is_zero():
    g = torch.Generator().manual_seed(0)
    pred = torch.randn(3, 5, generator=g).requires_grad_()
    soft = torch.randn(3, 5, generator=g).requires_grad_()
    KnowledgeDistillationKLDivLoss()(pred, soft).backward()
    assert pred.grad is not None and soft.grad is None
    # T^2 = 100 times a KL that is 0 up to float rounding
    same = torch.randn(3, 5, generator=g)
    assert KnowledgeDistillationKLDivLoss()(same, same).abs().item() < 1e-4


def test_kd_empty_and_errors():
    out = KnowledgeDistillationKLDivLoss()(torch.zeros(0, 5), torch.zeros(0, 5),
                                           reduction_override='sum')
    assert out.item() == 0
    with pytest.raises(ValueError, match='T must be'):
        KnowledgeDistillationKLDivLoss(T=0.5)
