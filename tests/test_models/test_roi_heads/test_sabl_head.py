"""SABLHead: names and shapes, side-aware split and attention pooling against worked values,
bucket targets and losses (no positive, zero RoIs), decoding with the localisation confidence,
cascade refinement."""
import pytest
import torch

from mmdet_lite.core import AssignResult, SamplingResult
from mmdet_lite.models.builder import build_head
from mmdet_lite.models.utils.results import BBoxTargets, Detections, RoICandidates

pytestmark = pytest.mark.usefixtures('one_thread')


def _head(**kwargs):
    cfg = dict(type='SABLHead', num_classes=3, cls_in_channels=8, reg_in_channels=8,
               cls_out_channels=16, reg_offset_out_channels=8, reg_cls_out_channels=8)
    cfg.update(kwargs)
    torch.manual_seed(0)
    head = build_head(cfg)
    head.init_weights()
    return head


def _sampling_result(proposals, gt_bboxes, gt_labels, assigned):
    """``assigned[i]``: 1-based GT index of proposal i, 0 for a negative."""
    gt_inds = torch.tensor(assigned, dtype=torch.long)
    labels = torch.full_like(gt_inds, -1)
    labels[gt_inds > 0] = gt_labels[gt_inds[gt_inds > 0] - 1]
    assign = AssignResult(len(gt_bboxes), gt_inds, torch.zeros(len(gt_inds)), labels)
    return SamplingResult(torch.nonzero(gt_inds > 0).flatten(),
                          torch.nonzero(gt_inds == 0).flatten(), proposals, gt_bboxes, assign,
                          torch.zeros(len(proposals), dtype=torch.uint8))


def test_layers_names_and_shapes():
    head = _head()
    names = set(head.state_dict())
    for name in ('cls_fcs.0.weight', 'fc_cls.weight', 'upsample_x.weight', 'upsample_y.weight',
                 'reg_pre_convs.1.conv.weight', 'reg_post_conv_xs.0.conv.weight',
                 'reg_post_conv_ys.0.conv.weight', 'reg_conv_att_x.weight',
                 'reg_conv_att_y.weight', 'fc_reg_cls.weight', 'fc_reg_offset.weight'):
        assert name in names, name
    assert head.side_num == 7
    cls_score, (bucket_cls, bucket_offset) = head(torch.randn(5, 8, 7, 7))
    assert cls_score.shape == (5, 4) and bucket_cls.shape == bucket_offset.shape == (5, 28)
    with pytest.raises(ValueError, match='num_buckets'):
        _head(bbox_coder=dict(type='BucketingBBoxCoder', num_buckets=12, scale_factor=1.7))
    with pytest.raises(ValueError, match='class-agnostic'):
        _head(reg_class_agnostic=False)


def test_side_aware_split_and_attention_pool_worked():
    head = _head()
    feat = torch.arange(14.)[None]
    # left/top side: buckets 0..6 from the box's left edge; right/down: 13..7, from the right
    torch.testing.assert_close(head.side_aware_split(feat),
                               torch.tensor([[0., 1, 2, 3, 4, 5, 6, 13, 12, 11, 10, 9, 8, 7]]))
    # zero attention logits: equal weights, so the pooling is a plain mean over rows / columns
    for conv in (head.reg_conv_att_x, head.reg_conv_att_y):
        torch.nn.init.zeros_(conv.weight)
        torch.nn.init.zeros_(conv.bias)
    x = torch.randn(2, 8, 7, 7)
    fx, fy = head.attention_pool(x)
    torch.testing.assert_close(fx, x.mean(dim=2))
    torch.testing.assert_close(fy, x.mean(dim=3))


def test_bucket_targets_and_losses():
    head = _head()
    proposals = torch.tensor([[10., 10., 50., 40.], [0., 0., 20., 20.], [60., 5., 90., 30.]])
    gt = torch.tensor([[12., 8., 48., 44.]])
    res = _sampling_result(proposals, gt, torch.tensor([2]), [1, 0, 0])
    targets = head.get_targets([res], [gt], [torch.tensor([2])], None)
    assert isinstance(targets, BBoxTargets)
    labels, label_weights, (cls_t, off_t), (cls_w, off_w) = targets
    assert labels.tolist() == [2, 3, 3] and label_weights.tolist() == [1, 1, 1]
    # one bucket per side is the target (the positive's), none for the negatives
    assert cls_t[0].view(4, 7).sum(1).tolist() == [1, 1, 1, 1]
    assert cls_t[1:].abs().sum() == 0 and off_w[1:].abs().sum() == 0 and cls_w[1:].sum() == 0
    cls_score, bbox_pred = head(torch.randn(3, 8, 7, 7))
    losses = head.loss(cls_score, bbox_pred, None, *targets)
    assert set(losses) == {'loss_cls', 'acc', 'loss_bbox_cls', 'loss_bbox_reg'}
    assert losses['loss_bbox_cls'] > 0 and losses['loss_bbox_reg'] > 0
    # no positive: box losses are zero, classification is not
    res = _sampling_result(proposals, gt, torch.tensor([2]), [0, 0, 0])
    losses = head.loss(cls_score, bbox_pred, None,
                       *head.get_targets([res], [gt], [torch.tensor([2])], None))
    assert losses['loss_cls'] > 0
    assert losses['loss_bbox_cls'] == 0 and losses['loss_bbox_reg'] == 0
    # zero RoIs: forward and losses still run
    cls_score, bbox_pred = head(torch.randn(0, 8, 7, 7))
    empty = torch.zeros(0, 28)
    losses = head.loss(cls_score, bbox_pred, None, torch.zeros(0, dtype=torch.long),
                       torch.zeros(0), (empty, empty), (empty, empty))
    assert all(v == 0 for v in losses.values())


def test_decoding_scores_and_refinement():
    head = _head()
    rois = torch.tensor([[0., 10., 10., 50., 40.], [0., 30., 20., 80., 60.]])
    cls_score, bbox_pred = head(torch.randn(2, 8, 7, 7))
    meta = dict(img_shape=(64, 96, 3))
    cands = head.get_bboxes(rois, cls_score, bbox_pred, meta['img_shape'], 2.0, rescale=True)
    assert isinstance(cands, RoICandidates) and cands.bboxes.shape == (2, 4)
    boxes, conf = head.bbox_coder.decode(rois[:, 1:], bbox_pred, meta['img_shape'])
    torch.testing.assert_close(cands.bboxes, boxes / 2)
    cfg = dict(score_thr=0., nms=dict(type='nms', iou_threshold=0.99), max_per_img=10)
    dets = head.get_bboxes(rois, cls_score, bbox_pred, meta['img_shape'], 1.0, cfg=cfg)
    assert isinstance(dets, Detections)
    # detection scores are the class scores times the buckets' localisation confidence
    expected = (cands.scores[:, :-1] * conf[:, None]).flatten().sort(descending=True).values
    torch.testing.assert_close(dets.det_bboxes[:, 4], expected[:len(dets.det_bboxes)])
    refined = head.regress_by_class(rois, None, bbox_pred, meta)
    torch.testing.assert_close(refined, torch.cat([rois[:, :1], boxes], 1))
    (kept, ) = head.refine_bboxes(rois, torch.zeros(2, dtype=torch.long), bbox_pred,
                                  [torch.tensor([1], dtype=torch.uint8)], [meta])
    torch.testing.assert_close(kept, boxes[1:])
