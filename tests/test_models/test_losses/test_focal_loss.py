import pytest
import torch
import torch.nn.functional as F
from torchvision.ops import sigmoid_focal_loss as tv_focal

from mmdet_lite.models import build_loss
from mmdet_lite.models.losses import FocalLoss


def _by_hand(pred, onehot, gamma, alpha):
    p = pred.sigmoid()
    p_t = p * onehot + (1 - p) * (1 - onehot)
    alpha_t = alpha * onehot + (1 - alpha) * (1 - onehot)
    return -alpha_t * (1 - p_t)**gamma * torch.log(p_t)


def test_focal_against_formula_and_torchvision():
    g = torch.Generator().manual_seed(0)
    pred = torch.randn(20, 3, generator=g)
    label = torch.randint(0, 4, (20, ), generator=g)  # 3 = background
    onehot = F.one_hot(label, 4)[:, :3].float()
    loss = build_loss(dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25,
                           loss_weight=1.0))
    elementwise = loss(pred, label, reduction_override='none')
    assert torch.allclose(elementwise, _by_hand(pred, onehot, 2.0, 0.25), atol=1e-6)
    assert torch.allclose(elementwise, tv_focal(pred, onehot, 0.25, 2.0), atol=1e-6)
    # one-hot targets give the same loss as labels
    assert torch.allclose(loss(pred, onehot), loss(pred, label))
    # RetinaNet: sum / num_pos with per-anchor weights
    w = (torch.rand(20, generator=g) > 0.3).float()
    expected = (elementwise * w[:, None]).sum() / 5.
    assert torch.allclose(loss(pred, label, weight=w, avg_factor=5.), expected, atol=1e-6)
    # element-wise weights and loss_weight
    w2 = torch.rand(20, 3, generator=g)
    assert torch.allclose(FocalLoss(gamma=1.5, alpha=0.5, loss_weight=3.)(pred, label, w2),
                          3 * (_by_hand(pred, onehot, 1.5, 0.5) * w2).mean(), atol=1e-6)


def test_activated_and_errors():
    g = torch.Generator().manual_seed(1)
    logits = torch.randn(8, 2, generator=g)
    label = torch.randint(0, 3, (8, ), generator=g)
    assert torch.allclose(FocalLoss(activated=True)(logits.sigmoid(), label),
                          FocalLoss()(logits, label), atol=1e-5)
    with pytest.raises(ValueError, match='use_sigmoid'):
        FocalLoss(use_sigmoid=False)


def test_focal_empty():
    pred = torch.zeros((0, 3), requires_grad=True)
    out = FocalLoss()(pred, torch.zeros((0, ), dtype=torch.long), avg_factor=1.)
    assert out.item() == 0.
    out.backward()
