import pytest
import torch
import torch.nn.functional as F

from mmdet_lite.models import build_loss
from mmdet_lite.models.builder import build_head
from mmdet_lite.models.losses import GHMC, GHMR
from ..test_dense_heads._helpers import feats_for, make_metas, retina_cfg
from ._mmdet2_losses import ref


def test_ghmc_worked_value():
    # g = |sigmoid(pred) - target|: 0.5, 0.5 (bin 5 of 10) and ~0.982 (bin 9); the last element
    # is ignored. tot = 3 valid, 2 non-empty bins -> weights 3/2/2 and 3/1/2; mean over tot.
    pred = torch.tensor([[0.], [0.], [4.], [1.]])
    target = torch.tensor([[1.], [0.], [0.], [1.]])
    label_weight = torch.tensor([[1.], [1.], [1.], [0.]])
    bce = F.binary_cross_entropy_with_logits(pred, target, reduction='none').view(-1)
    expected = (0.75 * bce[0] + 0.75 * bce[1] + 1.5 * bce[2]) / 3
    assert torch.allclose(GHMC(bins=10)(pred, target, label_weight), expected)


def test_ghmc_against_mmdet228_with_momentum():
    pred, labels, lw = (ref(f'ghmc/{k}') for k in ('pred', 'labels', 'label_weight'))
    loss = build_loss(dict(type='GHMC', bins=30, momentum=0.75, use_sigmoid=True,
                           loss_weight=1.0))
    assert torch.equal(loss.edges, ref('ghmc/edges'))
    assert torch.allclose(loss(pred, labels, lw), ref('ghmc/out1'))
    assert torch.allclose(loss(pred * 0.5, labels, lw), ref('ghmc/out2'))
    assert torch.allclose(loss.acc_sum, ref('ghmc/acc_sum'))
    assert set(loss.state_dict()) == {'edges', 'acc_sum'}  # 2.x's buffers, in checkpoints


def test_ghmc_without_momentum_against_mmdet228():
    pred, labels, lw = (ref(f'ghmc/{k}') for k in ('pred', 'labels', 'label_weight'))
    loss = GHMC(bins=10, momentum=0, loss_weight=2.0)
    assert set(loss.state_dict()) == {'edges'}
    assert torch.allclose(loss(pred, labels, lw), ref('ghmc0/out'))
    assert torch.allclose(loss(pred, labels, lw, reduction_override='none'),
                          ref('ghmc0/out_none'))
    onehot = F.one_hot(labels, 5)[:, :4].float()
    # avg_factor, passed by the dense heads, is ignored
    assert torch.allclose(loss(pred, onehot, lw[:, None].expand(-1, 4), avg_factor=123.),
                          ref('ghmc0/out_onehot'))


def test_ghmr_against_mmdet228_and_worked_value():
    pred, target, lw = (ref(f'ghmr/{k}') for k in ('pred', 'target', 'label_weight'))
    loss = GHMR(mu=0.02, bins=10, momentum=0.7)
    assert torch.allclose(loss(pred, target, lw), ref('ghmr/out1'))
    assert torch.allclose(loss(pred * 2, target, lw), ref('ghmr/out2'))
    assert torch.allclose(loss.acc_sum, ref('ghmr/acc_sum'))
    plain = GHMR(mu=0.05, bins=5)
    assert torch.allclose(plain(pred, target, lw), ref('ghmr0/out'))
    assert torch.allclose(plain(pred, target, lw, reduction_override='none'),
                          ref('ghmr0/out_none'))
    # one element: ASL1 sqrt(d^2 + mu^2) - mu with weight tot / 1 / 1 = 1
    d = torch.tensor([[0.3]])
    out = GHMR(mu=0.02)(d, torch.zeros(1, 1), torch.ones(1, 1))
    assert abs(out.item() - ((0.3**2 + 0.02**2)**0.5 - 0.02)) < 1e-6


def test_ghm_empty_and_all_ignored():
    for loss, target in ((GHMC(), torch.zeros(0, dtype=torch.long)), (GHMR(), torch.zeros(0, 4))):
        pred = torch.zeros(0, 4, requires_grad=True)
        weight = torch.zeros(0) if isinstance(loss, GHMC) else torch.zeros(0, 4)
        out = loss(pred, target, weight)
        assert out.item() == 0
        out.backward()
    pred = torch.randn(3, 2, requires_grad=True)
    out = GHMC()(pred, torch.tensor([0, 1, 2]), torch.zeros(3))
    assert out.item() == 0


def test_ghmc_rejects_softmax():
    with pytest.raises(ValueError, match='use_sigmoid'):
        GHMC(use_sigmoid=False)


def test_ghm_losses_inside_retina_head():
    # the ghm config's head: the losses take the head's (labels, label_weights, avg_factor)
    cfg = retina_cfg()
    cfg['loss_cls'] = dict(type='GHMC', bins=30, momentum=0.75, use_sigmoid=True,
                           loss_weight=1.0)
    cfg['loss_bbox'] = dict(type='GHMR', mu=0.02, bins=10, momentum=0.7, loss_weight=10.0)
    head = build_head(cfg)
    assert {'loss_cls.edges', 'loss_cls.acc_sum', 'loss_bbox.edges',
            'loss_bbox.acc_sum'} <= set(head.state_dict())
    feats = feats_for((64, 96), [8, 16, 32, 64, 128])
    cls_scores, bbox_preds = head(feats)
    for gt in (torch.tensor([[10., 10., 50., 40.]]), torch.zeros(0, 4)):
        losses = head.loss(cls_scores, bbox_preds, [gt], [torch.zeros(len(gt), dtype=torch.long)],
                           make_metas())
        total = sum(sum(v) for v in losses.values())
        assert torch.isfinite(total)
    total.backward()
    assert head.retina_cls.weight.grad is not None
