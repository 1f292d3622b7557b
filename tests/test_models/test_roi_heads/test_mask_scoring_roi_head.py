"""Mask Scoring R-CNN's parts: MaskIoUHead (forward, IoU targets and loss against worked values,
mask scores) and MaskScoringRoIHead (loss_mask_iou, (segm, mask_scores) results, empty GT,
zero detections)."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mmdet_lite.core import BitmapMasks, SamplingResult
from mmdet_lite.core.bbox.assigners.assign_result import AssignResult
from mmdet_lite.models.builder import build_head

NUM_CLASSES = 3
FEAT = 8


def _iou_head():
    torch.manual_seed(0)
    head = build_head(dict(type='MaskIoUHead', num_convs=2, num_fcs=1, roi_feat_size=14,
                           in_channels=FEAT, conv_out_channels=FEAT, fc_out_channels=16,
                           num_classes=NUM_CLASSES))
    head.init_weights()
    return head


def test_mask_iou_head_forward_concatenates_the_pooled_mask_probabilities():
    head = _iou_head()
    feats, logits = torch.randn(2, FEAT, 14, 14), torch.randn(2, 28, 28)
    x = torch.cat([feats, F.max_pool2d(logits.sigmoid()[:, None], 2)], 1)
    x = F.relu(head.convs[1](F.relu(head.convs[0](x))))
    expected = head.fc_mask_iou(F.relu(head.fcs[0](x.flatten(1))))
    torch.testing.assert_close(head(feats, logits), expected)
    assert expected.shape == (2, NUM_CLASSES) and head.convs[1].stride == (2, 2)


def _sampling_result(pos_boxes, gt_boxes, pos_gt_inds):
    """A SamplingResult whose positives are ``pos_boxes`` assigned to ``pos_gt_inds``."""
    num = len(pos_boxes)
    assign = AssignResult(len(gt_boxes), torch.tensor(pos_gt_inds) + 1, torch.ones(num),
                          labels=torch.zeros(num, dtype=torch.long))
    return SamplingResult(torch.arange(num), torch.zeros(0, dtype=torch.long), pos_boxes,
                          gt_boxes, assign, torch.zeros(num, dtype=torch.uint8))


def test_mask_iou_targets_count_the_gt_outside_the_roi():
    head = _iou_head()
    canvas = np.zeros((1, 64, 64), np.uint8)
    canvas[0, 10:30, 10:30] = 1                        # a 20 x 20 object, area 400
    gt_masks = [BitmapMasks(canvas, 64, 64)]
    roi = torch.tensor([[10., 10., 20., 30.]])          # its left half: area ratio 200 / 400
    res = _sampling_result(roi, torch.tensor([[10., 10., 30., 30.]]), [0])
    mask_targets = torch.ones(1, 28, 28)                # the RoI lies inside the object
    mask_pred = torch.full((1, 28, 28), -1.)
    mask_pred[:, :, :14] = 1.                           # predicted: the RoI's left half
    # (as 2.x, the logits are thresholded at mask_thr_binary)
    targets = head.get_targets([res], gt_masks, mask_pred, mask_targets,
                               dict(mask_thr_binary=0.5))
    # overlap 392, predicted 392, object 784 / 0.5 = 1568 -> 392 / 1568
    torch.testing.assert_close(targets, torch.tensor([0.25]), rtol=1e-5, atol=1e-6)
    # no positives in an image: no targets
    empty = _sampling_result(torch.zeros(0, 4), torch.tensor([[10., 10., 30., 30.]]), [])
    assert head.get_targets([empty], gt_masks, mask_pred[:0], mask_targets[:0],
                            dict(mask_thr_binary=0.5)).shape == (0, )


def test_mask_iou_loss_on_positive_targets_only_and_mask_scores():
    head = _iou_head()
    pred = torch.tensor([0.5, 0.2, 0.9], requires_grad=True)
    loss = head.loss(pred, torch.tensor([0.7, 0., 0.4]))['loss_mask_iou']
    torch.testing.assert_close(loss, torch.tensor(0.5 * (0.2**2 + 0.5**2) / 2))
    zero = head.loss(pred, torch.zeros(3))['loss_mask_iou']
    assert zero.item() == 0
    zero.backward()
    assert pred.grad is not None
    scores = head.get_mask_scores(torch.tensor([[0.5, 0.1, 0.2], [0.3, 0.8, 0.4]]),
                                  torch.tensor([[0., 0., 1., 1., 0.9], [0., 0., 2., 2., 0.6]]),
                                  torch.tensor([1, 1]))
    assert [len(s) for s in scores] == [0, 2, 0]
    np.testing.assert_allclose(scores[1], [0.1 * 0.9, 0.8 * 0.6], rtol=1e-6)


def _roi_head():
    extractor = dict(type='SingleRoIExtractor',
                     roi_layer=dict(type='RoIAlign', output_size=7, sampling_ratio=0),
                     out_channels=FEAT, featmap_strides=[4, 8])
    cfg = dict(
        type='MaskScoringRoIHead',
        bbox_roi_extractor=extractor,
        bbox_head=dict(type='Shared2FCBBoxHead', in_channels=FEAT, fc_out_channels=16,
                       roi_feat_size=7, num_classes=NUM_CLASSES),
        mask_roi_extractor=dict(extractor, roi_layer=dict(type='RoIAlign', output_size=14,
                                                          sampling_ratio=0)),
        mask_head=dict(type='FCNMaskHead', num_convs=1, in_channels=FEAT,
                       conv_out_channels=FEAT, num_classes=NUM_CLASSES),
        mask_iou_head=dict(type='MaskIoUHead', num_convs=2, num_fcs=1, in_channels=FEAT,
                           conv_out_channels=FEAT, fc_out_channels=16,
                           num_classes=NUM_CLASSES),
        train_cfg=dict(
            assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.5,
                          min_pos_iou=0.5, match_low_quality=True, ignore_iof_thr=-1),
            sampler=dict(type='RandomSampler', num=32, pos_fraction=0.25, neg_pos_ub=-1,
                         add_gt_as_proposals=True),
            mask_size=28, pos_weight=-1, mask_thr_binary=0.5, debug=False),
        test_cfg=dict(score_thr=0.0, nms=dict(type='nms', iou_threshold=0.5), max_per_img=10,
                      mask_thr_binary=0.5))
    torch.manual_seed(0)
    head = build_head(cfg)
    head.init_weights()
    return head


def _inputs():
    torch.manual_seed(1)
    x = [torch.randn(2, FEAT, 16, 16), torch.randn(2, FEAT, 8, 8)]
    metas = [dict(img_shape=(64, 64, 3), ori_shape=(64, 64, 3), pad_shape=(64, 64, 3),
                  scale_factor=np.ones(4, np.float32), flip=False, flip_direction=None)] * 2
    canvas = np.zeros((1, 64, 64), np.uint8)
    canvas[0, 8:40, 8:24] = 1
    gt_masks = [BitmapMasks(canvas, 64, 64), BitmapMasks(np.zeros((0, 64, 64), np.uint8), 64, 64)]
    proposals = [torch.tensor([[8., 8., 40., 32., .9], [44., 44., 60., 60., .8]]),
                 torch.zeros(0, 5)]
    return (x, metas, proposals, [torch.tensor([[8., 8., 40., 40.]]), torch.zeros(0, 4)],
            [torch.tensor([2]), torch.zeros(0, dtype=torch.long)], gt_masks)


def test_forward_train_adds_loss_mask_iou_and_simple_test_scores_masks():
    head = _roi_head()
    x, metas, proposals, gt_bboxes, gt_labels, gt_masks = _inputs()
    losses = head.forward_train(x, metas, proposals, gt_bboxes, gt_labels, gt_masks=gt_masks)
    assert set(losses) == {'loss_cls', 'acc', 'loss_bbox', 'loss_mask', 'loss_mask_iou'}
    sum(v for k, v in losses.items() if 'loss' in k).sum().backward()
    assert head.mask_iou_head.fc_mask_iou.weight.grad is not None

    head.eval()
    with torch.no_grad():
        results = head.simple_test(x, proposals, metas, rescale=True)
    (bbox0, (segm0, scores0)), (bbox1, (segm1, scores1)) = results
    assert sum(len(b) for b in bbox0) > 0
    for c in range(NUM_CLASSES):
        assert len(segm0[c]) == len(scores0[c]) == len(bbox0[c])
    assert segm1 == [[]] * NUM_CLASSES and scores1 == [[]] * NUM_CLASSES
    with torch.no_grad():
        none = head.simple_test(x, [torch.zeros(0, 5)] * 2, metas, rescale=True)
    assert all(segm == [[]] * NUM_CLASSES and scores == [[]] * NUM_CLASSES
               for _, (segm, scores) in none)


def test_needs_mask_thr_binary_and_a_mask_iou_head():
    head = _roi_head()
    head.train_cfg.pop('mask_thr_binary')
    x, metas, proposals, gt_bboxes, gt_labels, gt_masks = _inputs()
    with pytest.raises(KeyError, match='mask_thr_binary'):
        head.forward_train(x, metas, proposals, gt_bboxes, gt_labels, gt_masks=gt_masks)
    with pytest.raises(ValueError, match='mask_iou_head'):
        build_head(dict(type='MaskScoringRoIHead', mask_iou_head=None))
