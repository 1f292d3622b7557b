from types import SimpleNamespace

import torch

from mmdet_lite.core.bbox.coder import DeltaXYWHBBoxCoder
from mmdet_lite.models.losses import CrossEntropyLoss, SmoothL1Loss, carl_loss, isr_p
from ._mmdet2_losses import ref

NUM_CLASS = 3


def _case():
    coder = DeltaXYWHBBoxCoder(target_means=[0., 0., 0., 0.], target_stds=[0.1, 0.1, 0.2, 0.2])
    sres = [SimpleNamespace(pos_assigned_gt_inds=ref('isr_p/pos_gt0')),
            SimpleNamespace(pos_assigned_gt_inds=ref('isr_p/pos_gt1'))]
    labels = ref('isr_p/labels')
    targets = (labels, torch.ones(len(labels)), ref('isr_p/bbox_targets'),
               ref('isr_p/bbox_weights'))
    return coder, sres, targets


def test_isr_p_against_mmdet228():
    coder, sres, targets = _case()
    given_weights = targets[1].clone()
    out = isr_p(ref('isr_p/cls_score'), ref('isr_p/bbox_pred'), targets, ref('isr_p/rois'), sres,
                CrossEntropyLoss(), coder, k=2, bias=0, num_class=NUM_CLASS)
    assert torch.allclose(out[1], ref('isr_p/label_weights'), atol=1e-6)
    assert torch.equal(targets[1], given_weights)  # the caller's weights are left alone
    assert out[0] is targets[0] and out[2] is targets[2] and out[3] is targets[3]
    agnostic = isr_p(ref('isr_p/cls_score'), ref('isr_p/bbox_pred')[:, :4], targets,
                     ref('isr_p/rois'), sres, CrossEntropyLoss(), coder, k=1.5, bias=0.2,
                     num_class=NUM_CLASS)
    assert torch.allclose(agnostic[1], ref('isr_p/label_weights_agnostic'), atol=1e-6)


def test_isr_p_keeps_positive_loss_and_ranks_by_iou():
    coder, sres, targets = _case()
    cls_score = ref('isr_p/cls_score')
    out = isr_p(cls_score, ref('isr_p/bbox_pred'), targets, ref('isr_p/rois'), sres,
                CrossEntropyLoss(), coder, num_class=NUM_CLASS)
    labels = targets[0]
    pos = labels < NUM_CLASS
    ce = torch.nn.functional.cross_entropy(cls_score[pos], labels[pos], reduction='none')
    assert torch.allclose((ce * out[1][pos]).sum(), ce.sum(), atol=1e-5)
    assert torch.equal(out[1][~pos], targets[1][~pos])  # negatives untouched


def test_isr_p_without_positives():
    coder, sres, targets = _case()
    labels = torch.full_like(targets[0], NUM_CLASS)
    out = isr_p(ref('isr_p/cls_score'), ref('isr_p/bbox_pred'), (labels, ) + targets[1:],
                ref('isr_p/rois'), [SimpleNamespace(pos_assigned_gt_inds=labels[:0])] * 2,
                CrossEntropyLoss(), coder, num_class=NUM_CLASS)
    assert torch.equal(out[1], targets[1])


def test_carl_against_mmdet228_and_empty():
    labels = ref('isr_p/labels')
    cls_score, bbox_pred = ref('isr_p/cls_score'), ref('isr_p/bbox_pred')
    loss_bbox = SmoothL1Loss(beta=1.0)
    out = carl_loss(cls_score, labels, bbox_pred, ref('isr_p/bbox_targets'), loss_bbox, k=1,
                    bias=0.2, avg_factor=13., num_class=NUM_CLASS)
    assert torch.allclose(out['loss_carl'], ref('carl/out'))
    sig = carl_loss(cls_score[:, :3], labels, bbox_pred[:, :4], ref('isr_p/bbox_targets'),
                    loss_bbox, k=2, bias=0.1, sigmoid=True, num_class=NUM_CLASS)
    assert torch.allclose(sig['loss_carl'], ref('carl/out_sigmoid'))
    score = cls_score.clone().requires_grad_()
    empty = carl_loss(score, torch.full_like(labels, NUM_CLASS), bbox_pred,
                      ref('isr_p/bbox_targets'), loss_bbox, num_class=NUM_CLASS)
    assert empty['loss_carl'].shape == (1, ) and empty['loss_carl'].item() == 0
    empty['loss_carl'].sum().backward()
    assert score.grad is not None
