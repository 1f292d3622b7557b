"""BBoxHead / ConvFCBBoxHead: layers, targets and losses on hand-made proposals, inference."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torchvision.ops import nms

from mmdet_lite.core import AssignResult, SamplingResult, bbox2roi
from mmdet_lite.models.builder import build_head

STDS = torch.tensor([0.1, 0.1, 0.2, 0.2])


def _head(**kwargs):
    cfg = dict(type='Shared2FCBBoxHead', in_channels=4, fc_out_channels=16, roi_feat_size=3,
               num_classes=3)
    cfg.update(kwargs)
    head = build_head(cfg)
    head.init_weights()
    return head


def _encode(proposals, gts):
    """Delta targets by hand: ((gx - px) / pw, (gy - py) / ph, log(gw / pw), log(gh / ph)) / std."""
    pw, ph = proposals[:, 2] - proposals[:, 0], proposals[:, 3] - proposals[:, 1]
    px, py = proposals[:, 0] + pw / 2, proposals[:, 1] + ph / 2
    gw, gh = gts[:, 2] - gts[:, 0], gts[:, 3] - gts[:, 1]
    gx, gy = gts[:, 0] + gw / 2, gts[:, 1] + gh / 2
    deltas = torch.stack([(gx - px) / pw, (gy - py) / ph, torch.log(gw / pw),
                          torch.log(gh / ph)], 1)
    return deltas / STDS


def _decode(proposals, deltas, max_h, max_w):
    d = deltas * STDS
    pw, ph = proposals[:, 2] - proposals[:, 0], proposals[:, 3] - proposals[:, 1]
    px, py = proposals[:, 0] + pw / 2, proposals[:, 1] + ph / 2
    max_ratio = abs(math.log(16 / 1000))
    w = pw * d[:, 2].clamp(-max_ratio, max_ratio).exp()
    h = ph * d[:, 3].clamp(-max_ratio, max_ratio).exp()
    x, y = px + pw * d[:, 0], py + ph * d[:, 1]
    boxes = torch.stack([x - w / 2, y - h / 2, x + w / 2, y + h / 2], 1)
    boxes[:, 0::2] = boxes[:, 0::2].clamp(0, max_w)
    boxes[:, 1::2] = boxes[:, 1::2].clamp(0, max_h)
    return boxes


def _sampling_result(proposals, gt_bboxes, gt_labels, assigned):
    """``assigned[i]``: 1-based GT index of proposal i, 0 for a negative."""
    gt_inds = torch.tensor(assigned, dtype=torch.long)
    labels = torch.full_like(gt_inds, -1)
    labels[gt_inds > 0] = gt_labels[gt_inds[gt_inds > 0] - 1]
    assign = AssignResult(len(gt_bboxes), gt_inds, torch.zeros(len(gt_inds)), labels)
    pos_inds = torch.nonzero(gt_inds > 0).flatten()
    neg_inds = torch.nonzero(gt_inds == 0).flatten()
    return SamplingResult(pos_inds, neg_inds, proposals, gt_bboxes, assign,
                          torch.zeros(len(proposals), dtype=torch.uint8))


def _batch():
    gt1 = torch.tensor([[10., 10., 50., 40.], [60., 20., 90., 80.]])
    lab1 = torch.tensor([2, 0])
    props1 = torch.tensor([[12., 8., 48., 44.], [0., 0., 20., 20.], [58., 25., 95., 75.],
                           [30., 60., 50., 90.]])
    res1 = _sampling_result(props1, gt1, lab1, [1, 0, 2, 0])
    gt2 = torch.tensor([[5., 5., 25., 25.]])
    lab2 = torch.tensor([1])
    props2 = torch.tensor([[70., 70., 90., 90.], [4., 6., 26., 24.]])
    res2 = _sampling_result(props2, gt2, lab2, [0, 1])
    return [res1, res2], [gt1, gt2], [lab1, lab2]


def test_layer_names_shapes_and_forward():
    head = _head()
    assert list(head.state_dict()) == [
        'fc_cls.weight', 'fc_cls.bias', 'fc_reg.weight', 'fc_reg.bias', 'shared_fcs.0.weight',
        'shared_fcs.0.bias', 'shared_fcs.1.weight', 'shared_fcs.1.bias']
    assert head.shared_fcs[0].weight.shape == (16, 4 * 9)
    cls_score, bbox_pred = head(torch.randn(5, 4, 3, 3))
    assert cls_score.shape == (5, 4) and bbox_pred.shape == (5, 12)
    cls_score, bbox_pred = head(torch.randn(0, 4, 3, 3))
    assert cls_score.shape == (0, 4) and bbox_pred.shape == (0, 12)
    agnostic = _head(reg_class_agnostic=True)
    assert agnostic(torch.randn(2, 4, 3, 3))[1].shape == (2, 4)
    conv_head = build_head(dict(type='Shared4Conv1FCBBoxHead', in_channels=4, conv_out_channels=6,
                                fc_out_channels=16, roi_feat_size=3, num_classes=3))
    assert 'shared_convs.3.conv.weight' in conv_head.state_dict()
    assert conv_head.shared_fcs[0].weight.shape == (16, 6 * 9)
    assert conv_head(torch.randn(2, 4, 3, 3))[0].shape == (2, 4)
    plain = build_head(dict(type='BBoxHead', with_avg_pool=True, in_channels=4, roi_feat_size=3,
                            num_classes=3))
    assert plain(torch.randn(2, 4, 3, 3))[1].shape == (2, 12)
    with pytest.raises(ValueError, match='num_shared_fcs'):
        build_head(dict(type='ConvFCBBoxHead', num_shared_fcs=1, num_cls_convs=1))


def test_targets_on_hand_made_proposals():
    head = _head()
    results, gts, labels = _batch()
    tlabels, tweights, ttargets, tbweights = head.get_targets(results, gts, labels,
                                                              dict(pos_weight=-1))
    # rois order: image 1 positives (props 0, 2), negatives (1, 3); image 2 positive, negative
    assert tlabels.tolist() == [2, 0, 3, 3, 1, 3]
    assert tweights.tolist() == [1.] * 6
    assert tbweights.tolist() == [[1.] * 4] * 2 + [[0.] * 4] * 2 + [[1.] * 4] + [[0.] * 4]
    expected = torch.zeros(6, 4)
    expected[0] = _encode(torch.tensor([[12., 8., 48., 44.]]), gts[0][:1])[0]
    expected[1] = _encode(torch.tensor([[58., 25., 95., 75.]]), gts[0][1:])[0]
    expected[4] = _encode(torch.tensor([[4., 6., 26., 24.]]), gts[1])[0]
    torch.testing.assert_close(ttargets, expected)
    # pos_weight > 0 weights the positives' classification
    _, tweights, _, _ = head.get_targets(results, gts, labels, dict(pos_weight=2.0))
    assert tweights.tolist() == [2., 2., 1., 1., 2., 1.]
    per_image = head.get_targets(results, gts, labels, dict(pos_weight=-1), concat=False)
    assert [len(t) for t in per_image[0]] == [4, 2]


def test_loss_matches_hand_computation():
    torch.manual_seed(0)
    head = _head(loss_bbox=dict(type='L1Loss', loss_weight=1.0))
    results, gts, labels = _batch()
    targets = head.get_targets(results, gts, labels, dict(pos_weight=-1))
    rois = bbox2roi([res.bboxes for res in results])
    cls_score = torch.randn(6, 4, requires_grad=True)
    bbox_pred = torch.randn(6, 12, requires_grad=True)
    losses = head.loss(cls_score, bbox_pred, rois, *targets)
    tlabels, _, ttargets, _ = targets
    torch.testing.assert_close(losses['loss_cls'], F.cross_entropy(cls_score, tlabels))
    pos = torch.tensor([0, 1, 4])
    pred = bbox_pred.view(6, 3, 4)[pos, tlabels[pos]]
    # L1 summed over the positives, divided by the number of sampled RoIs (2.x)
    torch.testing.assert_close(losses['loss_bbox'], (pred - ttargets[pos]).abs().sum() / 6)
    correct = (cls_score.argmax(1) == tlabels).float().mean() * 100
    torch.testing.assert_close(losses['acc'].reshape(()), correct)
    (losses['loss_cls'] + losses['loss_bbox']).backward()
    # class-agnostic regression reads the single box
    agnostic = _head(reg_class_agnostic=True, loss_bbox=dict(type='L1Loss', loss_weight=1.0))
    pred4 = torch.randn(6, 4)
    loss4 = agnostic.loss(cls_score.detach(), pred4, rois, *targets)['loss_bbox']
    torch.testing.assert_close(loss4, (pred4[pos] - ttargets[pos]).abs().sum() / 6)


def test_reg_decoded_bbox_regresses_boxes():
    head = _head(reg_decoded_bbox=True, loss_bbox=dict(type='L1Loss', loss_weight=1.0))
    results, gts, labels = _batch()
    targets = head.get_targets(results, gts, labels, dict(pos_weight=-1))
    assert torch.equal(targets[2][0], gts[0][0]) and torch.equal(targets[2][4], gts[1][0])
    rois = bbox2roi([res.bboxes for res in results])
    # zero deltas decode to the proposals themselves
    loss = head.loss(torch.zeros(6, 4), torch.zeros(6, 12), rois, *targets)['loss_bbox']
    pos = torch.tensor([0, 1, 4])
    expected = (rois[pos, 1:] - targets[2][pos]).abs().sum() / 6
    torch.testing.assert_close(loss, expected)


def test_zero_proposals_for_one_image_and_for_the_batch():
    head = _head()
    results, gts, labels = _batch()
    empty = _sampling_result(torch.zeros(0, 4), torch.zeros(0, 4),
                             torch.zeros(0, dtype=torch.long), [])
    # one image without any sampled RoI
    targets = head.get_targets([results[0], empty], [gts[0], torch.zeros(0, 4)],
                               [labels[0], torch.zeros(0, dtype=torch.long)], dict(pos_weight=-1))
    assert targets[0].tolist() == [2, 0, 3, 3]
    rois = bbox2roi([results[0].bboxes, empty.bboxes])
    cls_score, bbox_pred = head(torch.randn(len(rois), 4, 3, 3))
    losses = head.loss(cls_score, bbox_pred, rois, *targets)
    assert losses['loss_cls'] > 0 and losses['loss_bbox'] >= 0
    # the whole batch without RoIs: every key is present, zero, and back-propagates
    targets = head.get_targets([empty, empty], [torch.zeros(0, 4)] * 2,
                               [torch.zeros(0, dtype=torch.long)] * 2, dict(pos_weight=-1))
    assert all(t.shape[0] == 0 for t in targets)
    feats = torch.randn(0, 4, 3, 3, requires_grad=True)
    cls_score, bbox_pred = head(feats)
    losses = head.loss(cls_score, bbox_pred, torch.zeros(0, 5), *targets)
    assert set(losses) == {'loss_cls', 'acc', 'loss_bbox'}
    assert losses['loss_cls'].item() == 0 and losses['loss_bbox'].item() == 0
    (losses['loss_cls'] + losses['loss_bbox']).backward()
    assert head.fc_cls.weight.grad is not None
    # only negatives: loss_bbox is zero
    neg_only = _sampling_result(torch.tensor([[0., 0., 5., 5.]]), gts[1], labels[1], [0])
    targets = head.get_targets([neg_only], [gts[1]], [labels[1]], dict(pos_weight=-1))
    cls_score, bbox_pred = head(torch.randn(1, 4, 3, 3))
    losses = head.loss(cls_score, bbox_pred, bbox2roi([neg_only.bboxes]), *targets)
    assert losses['loss_bbox'].item() == 0


def test_get_bboxes_decodes_rescales_and_matches_per_class_nms():
    torch.manual_seed(1)
    head = _head()
    num = 40
    xy = torch.rand(num, 2) * 60
    wh = torch.rand(num, 2) * 30 + 5
    proposals = torch.cat([xy, xy + wh], 1)
    rois = bbox2roi([proposals])
    cls_score = torch.randn(num, 4) * 2
    bbox_pred = torch.randn(num, 12)
    img_shape = (80, 90, 3)
    scale = np.array([2., 1.5, 2., 1.5], np.float32)
    cfg = dict(score_thr=0.1, nms=dict(type='nms', iou_threshold=0.5), max_per_img=15)
    dets, det_labels = head.get_bboxes(rois, cls_score, bbox_pred, img_shape, scale,
                                       rescale=True, cfg=cfg)
    # independent computation: softmax, hand decode per class, per-class torchvision nms
    scores = F.softmax(cls_score, -1)
    expected = []
    for c in range(3):
        boxes = _decode(proposals, bbox_pred[:, 4 * c:4 * c + 4], 80, 90) / torch.from_numpy(scale)
        keep_thr = scores[:, c] > 0.1
        boxes_c, scores_c = boxes[keep_thr], scores[keep_thr, c]
        for i in nms(boxes_c, scores_c, 0.5).tolist():
            expected.append((float(scores_c[i]), c, boxes_c[i]))
    expected.sort(key=lambda item: -item[0])
    expected = expected[:15]
    assert len(dets) == len(expected) == len(det_labels)
    order = torch.argsort(dets[:, 4], descending=True)
    dets, det_labels = dets[order], det_labels[order]
    for (score, label, box), det, det_label in zip(expected, dets, det_labels):
        assert abs(float(det[4]) - score) < 1e-6 and int(det_label) == label
        torch.testing.assert_close(det[:4], box, rtol=1e-5, atol=1e-4)
    # without cfg: raw decoded boxes (clipped to img_shape) and scores
    boxes, raw_scores = head.get_bboxes(rois, cls_score, bbox_pred, img_shape, scale,
                                        rescale=False, cfg=None)
    assert boxes.shape == (num, 12) and raw_scores.shape == (num, 4)
    torch.testing.assert_close(boxes[:, 4:8], _decode(proposals, bbox_pred[:, 4:8], 80, 90),
                               rtol=1e-5, atol=1e-4)
    assert boxes[:, 0::2].max() <= 90 and boxes[:, 1::2].max() <= 80


def test_get_bboxes_without_boxes_and_agnostic():
    head = _head(reg_class_agnostic=True)
    rois = torch.zeros(0, 5)
    dets, labels = head.get_bboxes(rois, torch.zeros(0, 4), torch.zeros(0, 4), (50, 50, 3),
                                   np.ones(4, np.float32), rescale=True,
                                   cfg=dict(score_thr=0.05, nms=dict(type='nms',
                                                                    iou_threshold=0.5),
                                            max_per_img=100))
    assert dets.shape == (0, 5) and labels.shape == (0, )
    rois = torch.tensor([[0., 10., 10., 30., 30.]])
    cls_score = torch.tensor([[0., 5., 0., 0.]])
    dets, labels = head.get_bboxes(rois, cls_score, torch.zeros(1, 4), (50, 50, 3),
                                   np.ones(4, np.float32), rescale=False,
                                   cfg=dict(score_thr=0.05, nms=dict(type='nms',
                                                                    iou_threshold=0.5),
                                            max_per_img=100))
    assert labels.tolist() == [1]
    torch.testing.assert_close(dets[0, :4], torch.tensor([10., 10., 30., 30.]))


def test_refine_bboxes_regresses_by_class_and_drops_sampled_gts():
    head = _head()
    rois = torch.tensor([[0, 10., 10., 30., 30.], [0, 0., 0., 20., 40.], [1, 5., 5., 15., 25.]])
    labels = torch.tensor([1, 3, 0])  # 3 = background: regressed with the last class
    bbox_preds = torch.zeros(3, 12)
    bbox_preds[0, 4:8] = torch.tensor([1., 0., 0., 0.])  # class 1: shift x by 0.1 * w
    pos_is_gts = [torch.tensor([1], dtype=torch.uint8), torch.tensor([0], dtype=torch.uint8)]
    metas = [dict(img_shape=(50, 50, 3)), dict(img_shape=(50, 50, 3))]
    refined = head.refine_bboxes(rois, labels, bbox_preds, pos_is_gts, metas)
    # image 0: RoI 0 was a sampled GT and is dropped; image 1 keeps its RoI unchanged
    assert len(refined) == 2
    torch.testing.assert_close(refined[0], rois[1:2, 1:])
    torch.testing.assert_close(refined[1], rois[2:, 1:])
    one = head.regress_by_class(rois[:1], labels[:1], bbox_preds[:1], metas[0])
    torch.testing.assert_close(one, torch.tensor([[0., 12., 10., 32., 30.]]))  # index kept
    torch.testing.assert_close(
        head.regress_by_class(rois[:1, 1:], labels[:1], bbox_preds[:1], metas[0]),
        torch.tensor([[12., 10., 32., 30.]]))
