"""StandardRoIHead: sampling with GT added, box and mask branch wiring, zero proposals, tests."""
import numpy as np
import torch
import torch.nn.functional as F

from mmdet_lite.core import BitmapMasks, bbox2roi, mask_target
from mmdet_lite.models.builder import build_head

NUM_CLASSES = 3


def _roi_head(share_extractor=False, with_mask=True):
    feat = 8
    cfg = dict(
        type='StandardRoIHead',
        bbox_roi_extractor=dict(type='SingleRoIExtractor',
                                roi_layer=dict(type='RoIAlign', output_size=7, sampling_ratio=0),
                                out_channels=feat, featmap_strides=[4, 8]),
        bbox_head=dict(type='Shared2FCBBoxHead', in_channels=feat, fc_out_channels=16,
                       roi_feat_size=7, num_classes=NUM_CLASSES,
                       loss_bbox=dict(type='L1Loss', loss_weight=1.0)),
        train_cfg=dict(
            assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.5,
                          min_pos_iou=0.5, match_low_quality=True, ignore_iof_thr=-1),
            sampler=dict(type='RandomSampler', num=64, pos_fraction=0.25, neg_pos_ub=-1,
                         add_gt_as_proposals=True),
            mask_size=14 if share_extractor else 28, pos_weight=-1, debug=False),
        test_cfg=dict(score_thr=0.0, nms=dict(type='nms', iou_threshold=0.5), max_per_img=10,
                      mask_thr_binary=0.5))
    if with_mask:
        cfg['mask_head'] = dict(type='FCNMaskHead', num_convs=1, in_channels=feat,
                                conv_out_channels=feat, num_classes=NUM_CLASSES,
                                roi_feat_size=7 if share_extractor else 14)
        if not share_extractor:
            cfg['mask_roi_extractor'] = dict(
                type='SingleRoIExtractor',
                roi_layer=dict(type='RoIAlign', output_size=14, sampling_ratio=0),
                out_channels=feat, featmap_strides=[4, 8])
    else:
        cfg['train_cfg'].pop('mask_size')
    torch.manual_seed(0)
    head = build_head(cfg)
    head.init_weights()
    return head


def _inputs():
    torch.manual_seed(1)
    x = [torch.randn(2, 8, 16, 16), torch.randn(2, 8, 8, 8)]
    metas = [dict(img_shape=(64, 64, 3), ori_shape=(64, 64, 3), pad_shape=(64, 64, 3),
                  scale_factor=np.ones(4, np.float32), flip=False, flip_direction=None)] * 2
    gt_bboxes = [torch.tensor([[8., 8., 40., 40.]]), torch.zeros(0, 4)]
    gt_labels = [torch.tensor([2]), torch.zeros(0, dtype=torch.long)]
    canvas = np.zeros((1, 64, 64), np.uint8)
    canvas[0, 8:40, 8:24] = 1
    gt_masks = [BitmapMasks(canvas, 64, 64), BitmapMasks(np.zeros((0, 64, 64), np.uint8), 64, 64)]
    # image 0: one proposal overlapping the GT (IoU 0.75), one background; image 1: none
    proposals = [torch.tensor([[8., 8., 40., 32., .9], [44., 44., 60., 60., .8]]),
                 torch.zeros(0, 5)]
    return x, metas, proposals, gt_bboxes, gt_labels, gt_masks


def test_forward_train_samples_gt_first_and_wires_both_branches():
    head = _roi_head()
    x, metas, proposals, gt_bboxes, gt_labels, gt_masks = _inputs()
    losses = head.forward_train(x, metas, proposals, gt_bboxes, gt_labels, gt_masks=gt_masks)
    assert set(losses) == {'loss_cls', 'acc', 'loss_bbox', 'loss_mask'}
    # by hand: the sampled RoIs of image 0 are [GT, proposal 0] (positives), [proposal 1]
    rois = bbox2roi([torch.tensor([[8., 8., 40., 40.], [8., 8., 40., 32.], [44., 44., 60., 60.]])])
    labels = torch.tensor([2, 2, NUM_CLASSES])
    cls_score, _ = head.bbox_head(head.bbox_roi_extractor(x, rois))
    torch.testing.assert_close(losses['loss_cls'], F.cross_entropy(cls_score, labels))
    # mask branch: only the two positives, on the GT class channel
    mask_pred = head.mask_head(head.mask_roi_extractor(x, rois[:2]))
    targets = mask_target([rois[:2, 1:]], [torch.tensor([0, 0])], gt_masks[:1], dict(mask_size=28))
    expected = F.binary_cross_entropy_with_logits(mask_pred[:, 2], targets)
    torch.testing.assert_close(losses['loss_mask'].reshape(()), expected)
    sum(v for k, v in losses.items() if 'loss' in k).sum().backward()
    assert head.mask_head.conv_logits.weight.grad is not None


def test_shared_extractor_reuses_bbox_features():
    head = _roi_head(share_extractor=True)
    assert head.share_roi_extractor and head.mask_roi_extractor is head.bbox_roi_extractor
    x, metas, proposals, gt_bboxes, gt_labels, gt_masks = _inputs()
    losses = head.forward_train(x, metas, proposals, gt_bboxes, gt_labels, gt_masks=gt_masks)
    rois = bbox2roi([torch.tensor([[8., 8., 40., 40.], [8., 8., 40., 32.]])])
    mask_pred = head.mask_head(head.bbox_roi_extractor(x, rois))
    targets = mask_target([rois[:, 1:]], [torch.tensor([0, 0])], gt_masks[:1], dict(mask_size=14))
    torch.testing.assert_close(losses['loss_mask'].reshape(()),
                               F.binary_cross_entropy_with_logits(mask_pred[:, 2], targets))


def test_zero_proposals_and_no_gt_in_the_whole_batch():
    head = _roi_head()
    x, metas, _, _, _, _ = _inputs()
    empty_masks = BitmapMasks(np.zeros((0, 64, 64), np.uint8), 64, 64)
    losses = head.forward_train(x, metas, [torch.zeros(0, 5)] * 2, [torch.zeros(0, 4)] * 2,
                                [torch.zeros(0, dtype=torch.long)] * 2,
                                gt_masks=[empty_masks] * 2)
    assert set(losses) == {'loss_cls', 'acc', 'loss_bbox', 'loss_mask'}
    assert all(v.sum().item() == 0 for k, v in losses.items() if 'loss' in k)
    # GT but zero proposals: the GT boxes alone are sampled as positives
    x, metas, _, gt_bboxes, gt_labels, gt_masks = _inputs()
    losses = head.forward_train(x, metas, [torch.zeros(0, 5)] * 2, gt_bboxes, gt_labels,
                                gt_masks=gt_masks)
    assert losses['loss_mask'].item() > 0 and losses['acc'].numel() == 1


def test_simple_test_with_zero_proposals_for_one_image():
    head = _roi_head()
    head.eval()
    x, metas, proposals, _, _, _ = _inputs()
    with torch.no_grad():
        results = head.simple_test(x, proposals, metas, rescale=True)
    assert len(results) == 2
    (bbox0, segm0), (bbox1, segm1) = results
    assert len(bbox0) == NUM_CLASSES and sum(len(b) for b in bbox0) > 0
    assert [len(s) for s in segm0] == [len(b) for b in bbox0]
    assert all(m.shape == (64, 64) for s in segm0 for m in s)
    assert [b.shape for b in bbox1] == [(0, 5)] * NUM_CLASSES and segm1 == [[]] * NUM_CLASSES
    # raw box-branch outputs without NMS
    det_bboxes, det_scores = head.simple_test_bboxes(x, metas, proposals, None)
    assert det_bboxes[0].shape == (2, 4 * NUM_CLASSES) and det_scores[0].shape == (2, 4)
    assert det_bboxes[1].shape == (0, 4)
    # a box-only head returns bbox_results alone
    box_only = _roi_head(with_mask=False)
    box_only.eval()
    with torch.no_grad():
        results = box_only.simple_test(x, proposals, metas, rescale=True)
    assert len(results[0]) == NUM_CLASSES and isinstance(results[0][0], np.ndarray)
