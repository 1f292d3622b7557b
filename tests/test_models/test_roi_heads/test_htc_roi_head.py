"""Hybrid Task Cascade's parts: HTCMaskHead (mask information flow), FusedSemanticHead,
HybridTaskCascadeRoIHead (semantic fusion, interleaved training, chained mask heads at test
time, empty GT and zero proposals)."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mmdet_lite.core import BitmapMasks, bbox2roi
from mmdet_lite.models.builder import build_head

NUM_CLASSES = 3
FEAT = 8


def _mask_head(**kwargs):
    torch.manual_seed(0)
    head = build_head(dict(type='HTCMaskHead', num_convs=1, in_channels=FEAT,
                           conv_out_channels=FEAT, num_classes=NUM_CLASSES, **kwargs))
    head.init_weights()
    return head


def test_htc_mask_head_adds_the_previous_features_through_conv_res():
    head = _mask_head()
    x, res = torch.randn(2, FEAT, 14, 14), torch.randn(2, FEAT, 14, 14)
    logits, feat = head(x, res)
    expected_feat = head.convs[0](x + head.conv_res(res))
    torch.testing.assert_close(feat, expected_feat)
    torch.testing.assert_close(logits, head.conv_logits(F.relu(head.upsample(expected_feat))))
    assert logits.shape == (2, NUM_CLASSES, 28, 28)
    torch.testing.assert_close(head(x, res, return_feat=False), logits)
    torch.testing.assert_close(head(x, return_logits=False), head.convs[0](x))
    with pytest.raises(ValueError, match='with_conv_res=True'):
        _mask_head(with_conv_res=False)(x, res)
    assert not hasattr(_mask_head(with_conv_res=False), 'conv_res')


def _semantic_head():
    torch.manual_seed(0)
    head = build_head(dict(type='FusedSemanticHead', num_ins=3, fusion_level=1, num_convs=1,
                           in_channels=FEAT, conv_out_channels=FEAT, num_classes=4,
                           loss_seg=dict(type='CrossEntropyLoss', ignore_index=255,
                                         loss_weight=0.2)))
    head.init_weights()
    return head


def test_fused_semantic_head_fuses_levels_at_the_fusion_size_and_ignores_255():
    head = _semantic_head()
    feats = [torch.randn(2, FEAT, 16, 16), torch.randn(2, FEAT, 8, 8), torch.randn(2, FEAT, 4, 4)]
    logits, embedding = head(feats)
    fused = head.lateral_convs[1](feats[1])
    for i in (0, 2):
        fused = fused + head.lateral_convs[i](
            F.interpolate(feats[i], size=(8, 8), mode='bilinear', align_corners=True))
    fused = head.convs[0](fused)
    torch.testing.assert_close(logits, head.conv_logits(fused))
    torch.testing.assert_close(embedding, head.conv_embedding(fused))
    labels = torch.randint(0, 4, (2, 1, 8, 8))
    labels[0, 0, :4] = 255
    expected = 0.2 * F.cross_entropy(logits, labels[:, 0], ignore_index=255,
                                     reduction='none').mean()
    torch.testing.assert_close(head.loss(logits, labels), expected)
    with pytest.raises(ValueError, match='num_ins=3'):
        head(feats + feats[:1])


def _htc_head(with_semantic=True, interleaved=True, mask_info_flow=True):
    extractor = dict(type='SingleRoIExtractor',
                     roi_layer=dict(type='RoIAlign', output_size=7, sampling_ratio=0),
                     out_channels=FEAT, featmap_strides=[4, 8])
    stage_cfg = dict(assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.5,
                                   min_pos_iou=0.5, match_low_quality=False, ignore_iof_thr=-1),
                     sampler=dict(type='RandomSampler', num=32, pos_fraction=0.25,
                                  neg_pos_ub=-1, add_gt_as_proposals=True),
                     mask_size=28, pos_weight=-1, debug=False)
    mask_head = dict(type='HTCMaskHead', num_convs=1, in_channels=FEAT, conv_out_channels=FEAT,
                     num_classes=NUM_CLASSES)
    cfg = dict(type='HybridTaskCascadeRoIHead', num_stages=2, stage_loss_weights=[1, 0.5],
               interleaved=interleaved, mask_info_flow=mask_info_flow,
               bbox_roi_extractor=extractor,
               bbox_head=dict(type='Shared2FCBBoxHead', in_channels=FEAT, fc_out_channels=16,
                              roi_feat_size=7, num_classes=NUM_CLASSES, reg_class_agnostic=True),
               mask_roi_extractor=dict(extractor, roi_layer=dict(type='RoIAlign', output_size=14,
                                                                 sampling_ratio=0)),
               mask_head=[dict(mask_head, with_conv_res=False), mask_head],
               train_cfg=[stage_cfg, stage_cfg],
               test_cfg=dict(score_thr=0.0, nms=dict(type='nms', iou_threshold=0.5),
                             max_per_img=10, mask_thr_binary=0.5))
    if with_semantic:
        cfg.update(semantic_roi_extractor=dict(
            type='SingleRoIExtractor',
            roi_layer=dict(type='RoIAlign', output_size=14, sampling_ratio=0),
            out_channels=FEAT, featmap_strides=[8]),
            semantic_head=dict(type='FusedSemanticHead', num_ins=2, fusion_level=1, num_convs=1,
                               in_channels=FEAT, conv_out_channels=FEAT, num_classes=4))
    torch.manual_seed(0)
    head = build_head(cfg)
    head.init_weights()
    return head


def _inputs():
    torch.manual_seed(1)
    x = [torch.randn(2, FEAT, 16, 16), torch.randn(2, FEAT, 8, 8)]
    metas = [dict(img_shape=(64, 64, 3), ori_shape=(64, 64, 3), pad_shape=(64, 64, 3),
                  scale_factor=np.ones(4, np.float32), flip=False, flip_direction=None)] * 2
    gt_bboxes = [torch.tensor([[8., 8., 40., 40.]]), torch.zeros(0, 4)]
    gt_labels = [torch.tensor([2]), torch.zeros(0, dtype=torch.long)]
    canvas = np.zeros((1, 64, 64), np.uint8)
    canvas[0, 8:40, 8:24] = 1
    gt_masks = [BitmapMasks(canvas, 64, 64), BitmapMasks(np.zeros((0, 64, 64), np.uint8), 64, 64)]
    proposals = [torch.tensor([[8., 8., 40., 32., .9], [44., 44., 60., 60., .8]]),
                 torch.tensor([[4., 4., 30., 30., .5]])]
    semantic = torch.randint(0, 4, (2, 1, 8, 8))
    return x, metas, proposals, gt_bboxes, gt_labels, gt_masks, semantic


@pytest.mark.parametrize('interleaved, mask_info_flow', [(True, True), (False, False)])
def test_forward_train_losses_and_semantic_input(interleaved, mask_info_flow):
    head = _htc_head(interleaved=interleaved, mask_info_flow=mask_info_flow)
    x, metas, proposals, gt_bboxes, gt_labels, gt_masks, semantic = _inputs()
    losses = head.forward_train(x, metas, proposals, gt_bboxes, gt_labels, gt_masks=gt_masks,
                                gt_semantic_seg=semantic)
    assert set(losses) == {'loss_semantic_seg'} | {
        f's{i}.{k}' for i in range(2) for k in ('loss_cls', 'acc', 'loss_bbox', 'loss_mask')}
    sum(v for k, v in losses.items() if 'loss' in k).sum().backward()
    assert head.semantic_head.conv_logits.weight.grad is not None
    assert head.semantic_roi_extractor is not None
    with pytest.raises(ValueError, match='gt_semantic_seg'):
        head.forward_train(x, metas, proposals, gt_bboxes, gt_labels, gt_masks=gt_masks)


def test_semantic_features_are_fused_and_mask_heads_chained_at_test_time():
    head = _htc_head()
    head.eval()
    x, metas, proposals, *_ = _inputs()
    rois = bbox2roi(proposals)
    with torch.no_grad():
        semantic_feat = head.semantic_head(x)[1]
        bbox_feats = head.bbox_roi_extractor[0](x, rois)
        pooled = F.adaptive_avg_pool2d(head.semantic_roi_extractor([semantic_feat], rois), 7)
        cls_score, _ = head.bbox_head[0](bbox_feats + pooled)
        torch.testing.assert_close(head._bbox_forward(0, x, rois, semantic_feat)['cls_score'],
                                   cls_score)
        mask_feats = (head.mask_roi_extractor[1](x, rois)
                      + head.semantic_roi_extractor([semantic_feat], rois))
        pred0, feat0 = head.mask_head[0](mask_feats)
        pred1 = head.mask_head[1](mask_feats, feat0, return_feat=False)
        preds = head._stage_mask_preds(x, rois, semantic_feat=semantic_feat)
        results = head.simple_test(x, proposals, metas, rescale=True)
    torch.testing.assert_close(preds[0], pred0)
    torch.testing.assert_close(preds[1], pred1)
    for bbox_results, segm_results in results:
        assert sum(len(b) for b in bbox_results) > 0
        assert [len(s) for s in segm_results] == [len(b) for b in bbox_results]
    with pytest.raises(ValueError, match='semantic_feat'):
        head._bbox_forward(0, x, rois)


def test_empty_gt_and_zero_proposals():
    head = _htc_head()
    x, metas, proposals, _, _, _, semantic = _inputs()
    empty_masks = BitmapMasks(np.zeros((0, 64, 64), np.uint8), 64, 64)
    losses = head.forward_train(x, metas, proposals, [torch.zeros(0, 4)] * 2,
                                [torch.zeros(0, dtype=torch.long)] * 2,
                                gt_masks=[empty_masks] * 2, gt_semantic_seg=semantic)
    assert losses['s1.loss_mask'].item() == 0 and losses['s1.loss_cls'].item() > 0
    head.eval()
    with torch.no_grad():
        results = head.simple_test(x, [torch.zeros(0, 5)] * 2, metas, rescale=True)
    for bbox_results, segm_results in results:
        assert [b.shape for b in bbox_results] == [(0, 5)] * NUM_CLASSES
        assert segm_results == [[]] * NUM_CLASSES
