import torch

from mmdet_lite.models import build_loss
from mmdet_lite.models.losses import AssociativeEmbeddingLoss
from ._mmdet2_losses import ref


def test_ae_worked_value():
    # two objects: embeddings (tl, br) = (0, 2) and (5, 5); means 1 and 5
    tl = torch.zeros(1, 1, 4, 4)
    br = torch.zeros(1, 1, 4, 4)
    tl[0, 0, 0, 0], br[0, 0, 1, 1] = 0., 2.
    tl[0, 0, 2, 2], br[0, 0, 3, 3] = 5., 5.
    match = [[[[0, 0], [1, 1]], [[2, 2], [3, 3]]]]
    pull, push = AssociativeEmbeddingLoss(pull_weight=1., push_weight=1.)(tl, br, match)
    assert torch.allclose(pull, torch.tensor((1. + 1.) / 2))  # ((0-1)^2 + (2-1)^2 + 0) / 2
    assert push.item() == 0  # |1 - 5| > margin 1
    tl[0, 0, 2, 2], br[0, 0, 3, 3] = 1.5, 1.5  # means 1 and 1.5: relu(1 - 0.5) twice, / 2
    pull, push = AssociativeEmbeddingLoss(pull_weight=1., push_weight=1.)(tl, br, match)
    assert torch.allclose(push, torch.tensor(0.5))


def test_ae_against_mmdet228_and_empty():
    loss = build_loss(dict(type='AssociativeEmbeddingLoss', pull_weight=0.25, push_weight=0.25))
    match = [[[[1, 2], [5, 6]], [[0, 0], [7, 7]], [[3, 1], [4, 6]]], [[[2, 2], [6, 6]]]]
    pull, push = loss(ref('ae/tl'), ref('ae/br'), match)
    assert torch.allclose(pull, ref('ae/pull')) and torch.allclose(push, ref('ae/push'))
    tl = ref('ae/tl').requires_grad_()
    pull, push = loss(tl, ref('ae/br'), [[], []])
    assert pull.item() == 0 and push.item() == 0
    (pull + push).backward()
    assert tl.grad is not None
