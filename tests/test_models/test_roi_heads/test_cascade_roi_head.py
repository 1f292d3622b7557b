"""CascadeRoIHead: per-stage losses and weights, refinement between stages, score and mask
averaging at test time, zero proposals and empty GT, aug_test, config errors."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mmdet_lite.core import BitmapMasks, bbox2roi
from mmdet_lite.models.builder import build_head

NUM_CLASSES = 3
FEAT = 8


def _stage_train_cfg(iou: float) -> dict:
    return dict(assigner=dict(type='MaxIoUAssigner', pos_iou_thr=iou, neg_iou_thr=iou,
                              min_pos_iou=iou, match_low_quality=False, ignore_iof_thr=-1),
                sampler=dict(type='RandomSampler', num=64, pos_fraction=0.25, neg_pos_ub=-1,
                             add_gt_as_proposals=True),
                mask_size=28, pos_weight=-1, debug=False)


def _cascade_head(stage_loss_weights=(1., 0.5), with_mask=True, **overrides):
    extractor = dict(type='SingleRoIExtractor',
                     roi_layer=dict(type='RoIAlign', output_size=7, sampling_ratio=0),
                     out_channels=FEAT, featmap_strides=[4, 8])
    bbox_head = dict(type='Shared2FCBBoxHead', in_channels=FEAT, fc_out_channels=16,
                     roi_feat_size=7, num_classes=NUM_CLASSES, reg_class_agnostic=True)
    cfg = dict(type='CascadeRoIHead', num_stages=2, stage_loss_weights=list(stage_loss_weights),
               bbox_roi_extractor=extractor,
               bbox_head=[bbox_head, dict(bbox_head, reg_class_agnostic=False)],
               train_cfg=[_stage_train_cfg(0.5), _stage_train_cfg(0.6)],
               test_cfg=dict(score_thr=0.0, nms=dict(type='nms', iou_threshold=0.5),
                             max_per_img=10, mask_thr_binary=0.5))
    if with_mask:
        cfg['mask_roi_extractor'] = dict(extractor, roi_layer=dict(type='RoIAlign',
                                                                   output_size=14,
                                                                   sampling_ratio=0))
        cfg['mask_head'] = dict(type='FCNMaskHead', num_convs=1, in_channels=FEAT,
                                conv_out_channels=FEAT, num_classes=NUM_CLASSES)
    cfg.update(overrides)
    torch.manual_seed(0)
    head = build_head(cfg)
    head.init_weights()
    return head


def _meta(flip=False):
    return dict(img_shape=(64, 64, 3), ori_shape=(64, 64, 3), pad_shape=(64, 64, 3),
                scale_factor=np.ones(4, np.float32), flip=flip, flip_direction='horizontal')


def _inputs():
    torch.manual_seed(1)
    x = [torch.randn(2, FEAT, 16, 16), torch.randn(2, FEAT, 8, 8)]
    gt_bboxes = [torch.tensor([[8., 8., 40., 40.]]), torch.zeros(0, 4)]
    gt_labels = [torch.tensor([2]), torch.zeros(0, dtype=torch.long)]
    canvas = np.zeros((1, 64, 64), np.uint8)
    canvas[0, 8:40, 8:24] = 1
    gt_masks = [BitmapMasks(canvas, 64, 64), BitmapMasks(np.zeros((0, 64, 64), np.uint8), 64, 64)]
    proposals = [torch.tensor([[8., 8., 40., 32., .9], [44., 44., 60., 60., .8],
                               [10., 6., 38., 42., .7]]),
                 torch.tensor([[4., 4., 30., 30., .5]])]
    return x, [_meta(), _meta()], proposals, gt_bboxes, gt_labels, gt_masks


def test_stage_losses_are_named_and_weighted():
    x, metas, proposals, gt_bboxes, gt_labels, gt_masks = _inputs()
    losses = {}
    for weights in ((1., 1.), (1., 0.5)):
        head = _cascade_head(weights)
        torch.manual_seed(2)
        losses[weights] = head.forward_train(x, metas, proposals, gt_bboxes, gt_labels,
                                             gt_masks=gt_masks)
    full, half = losses[(1., 1.)], losses[(1., 0.5)]
    assert set(half) == {f's{i}.{k}' for i in range(2)
                         for k in ('loss_cls', 'acc', 'loss_bbox', 'loss_mask')}
    for name in ('loss_cls', 'loss_bbox', 'loss_mask'):
        torch.testing.assert_close(half[f's0.{name}'], full[f's0.{name}'])
        torch.testing.assert_close(half[f's1.{name}'], 0.5 * full[f's1.{name}'])
    torch.testing.assert_close(half['s1.acc'], full['s1.acc'])  # not a loss: not weighted
    sum(v for k, v in half.items() if 'loss' in k).sum().backward()


def test_next_stage_gets_the_regressed_rois_without_the_sampled_gts():
    head = _cascade_head(with_mask=False)
    for module in (head.bbox_head[0].fc_reg, ):
        torch.nn.init.zeros_(module.weight)
        torch.nn.init.zeros_(module.bias)
    seen = []
    assign = head.bbox_assigner[1].assign

    def record(bboxes, *args, **kwargs):
        seen.append(bboxes.clone())
        return assign(bboxes, *args, **kwargs)

    head.bbox_assigner[1].assign = record
    x, metas, proposals, gt_bboxes, gt_labels, _ = _inputs()
    head.forward_train(x, metas, proposals, gt_bboxes, gt_labels)
    # zero deltas: stage 1 sees stage 0's sampled proposals (all of them, any order), the GT
    # box that the sampler added to image 0 dropped
    for got, props in zip(seen, proposals):
        assert sorted(got.tolist()) == sorted(props[:, :4].tolist())


def test_test_scores_are_the_stage_average_on_refined_rois():
    head = _cascade_head(with_mask=False)
    head.eval()
    x, metas, proposals, _, _, _ = _inputs()
    with torch.no_grad():
        bboxes, scores = head.simple_test_bboxes(x, metas[:1], proposals[:1], None)
        # by hand: stage 0 on the proposals, its boxes for its best class, stage 1 on those
        rois0 = bbox2roi(proposals[:1])
        cls0, reg0 = head.bbox_head[0](head.bbox_roi_extractor[0](x, rois0))
        rois1 = head.bbox_head[0].regress_by_class(rois0, cls0[:, :-1].argmax(1), reg0,
                                                   metas[0])
        cls1, reg1 = head.bbox_head[1](head.bbox_roi_extractor[1](x, rois1))
    torch.testing.assert_close(scores[0], F.softmax((cls0 + cls1) / 2, dim=1))
    expected = head.bbox_head[1].get_candidates(rois1, cls1, reg1, (64, 64, 3), None).bboxes
    torch.testing.assert_close(bboxes[0], expected)
    assert rois1.shape == (3, 5) and torch.equal(rois1[:, 0], rois0[:, 0])


def test_masks_are_the_stage_average():
    head = _cascade_head()
    head.eval()
    x, metas, proposals, _, _, _ = _inputs()
    with torch.no_grad():
        results = head.simple_test(x, proposals, metas, rescale=True)
        det_bboxes, det_labels = head.simple_test_bboxes(x, metas, proposals, head.test_cfg)
        rois = bbox2roi([det_bboxes[0][:, :4]])
        probs = [head.mask_head[s](head.mask_roi_extractor[s](x, rois)).sigmoid()
                 for s in range(2)]
        expected = head.mask_head[1].get_seg_masks(
            ((probs[0] + probs[1]) / 2).numpy(), det_bboxes[0][:, :4], det_labels[0],
            head.test_cfg, (64, 64, 3), np.ones(4, np.float32), rescale=True)
    bbox_results, segm_results = results[0]
    assert sum(len(b) for b in bbox_results) == len(det_bboxes[0]) > 0
    for c in range(NUM_CLASSES):
        assert len(segm_results[c]) == len(expected[c]) == len(bbox_results[c])
        for got, ref in zip(segm_results[c], expected[c]):
            assert got.shape == (64, 64) and np.array_equal(got, ref)


def test_zero_proposals_and_empty_gt():
    head = _cascade_head()
    x, metas, proposals, gt_bboxes, gt_labels, gt_masks = _inputs()
    empty_masks = BitmapMasks(np.zeros((0, 64, 64), np.uint8), 64, 64)
    no_boxes, no_labels = [torch.zeros(0, 4)] * 2, [torch.zeros(0, dtype=torch.long)] * 2
    # no GT and no proposal anywhere: stage 0 has no RoI, the cascade stops there (as 2.x)
    losses = head.forward_train(x, metas, [torch.zeros(0, 5)] * 2, no_boxes, no_labels,
                                gt_masks=[empty_masks] * 2)
    assert set(losses) == {'s0.loss_cls', 's0.acc', 's0.loss_bbox', 's0.loss_mask'}
    assert all(v.sum().item() == 0 for k, v in losses.items() if 'loss' in k)
    # no GT but proposals: negatives only in every stage
    losses = head.forward_train(x, metas, proposals, no_boxes, no_labels,
                                gt_masks=[empty_masks] * 2)
    assert losses['s1.loss_cls'].item() > 0 and losses['s1.loss_bbox'].item() == 0
    # GT but zero proposals: the GT boxes alone are the positives of stage 0
    losses = head.forward_train(x, metas, [torch.zeros(0, 5)] * 2, gt_bboxes, gt_labels,
                                gt_masks=gt_masks)
    assert losses['s0.loss_mask'].item() > 0

    head.eval()
    with torch.no_grad():
        none = head.simple_test(x, [torch.zeros(0, 5)] * 2, metas, rescale=True)
        one = head.simple_test(x, [proposals[0], torch.zeros(0, 5)], metas, rescale=True)
    for bbox_results, segm_results in none + one[1:]:
        assert [b.shape for b in bbox_results] == [(0, 5)] * NUM_CLASSES
        assert segm_results == [[]] * NUM_CLASSES
    assert sum(len(b) for b in one[0][0]) > 0


def test_aug_test_of_one_unflipped_view_equals_simple_test_and_flip_runs():
    head = _cascade_head()
    head.eval()
    x, metas, proposals, _, _, _ = _inputs()
    x0 = [lvl[:1] for lvl in x]
    with torch.no_grad():
        (simple_bbox, simple_segm), = head.simple_test(x0, proposals[:1], metas[:1],
                                                       rescale=True)
        (aug_bbox, aug_segm), = head.aug_test([x0], proposals[:1], [[_meta()]], rescale=True)
        flipped = head.aug_test([x0, [torch.flip(lvl, [3]) for lvl in x0]], proposals[:1],
                                [[_meta()], [_meta(flip=True)]], rescale=True)
    for c in range(NUM_CLASSES):
        np.testing.assert_allclose(aug_bbox[c], simple_bbox[c], atol=1e-5)
        assert all(np.array_equal(a, b) for a, b in zip(aug_segm[c], simple_segm[c]))
    (flip_bbox, flip_segm), = flipped
    assert [len(s) for s in flip_segm] == [len(b) for b in flip_bbox]


@pytest.mark.parametrize('overrides, message', [
    (dict(shared_head=dict(type='ResLayer', depth=50)), 'shared_head'),
    (dict(stage_loss_weights=[1.]), 'stage_loss_weights'),
    (dict(train_cfg=_stage_train_cfg(0.5)), 'list of 2 per-stage configs'),
    (dict(bbox_head=[dict(type='BBoxHead')] * 3), 'lists 3 configs'),
])
def test_config_errors_name_the_key(overrides, message):
    with pytest.raises(ValueError, match=message):
        _cascade_head(**overrides)
