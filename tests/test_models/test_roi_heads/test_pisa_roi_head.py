"""PISARoIHead: without PISA settings it trains exactly as StandardRoIHead; with 2.x's PISA
settings (ScoreHLRSampler, ISR-P, CARL) the negatives take the sampler's weights and
``loss_carl`` joins the losses."""
import numpy as np
import torch

from mmdet_lite.models.builder import build_head


def _head(roi_type='PISARoIHead', pisa=False):
    sampler = dict(type='RandomSampler', num=32, pos_fraction=0.25, neg_pos_ub=-1,
                   add_gt_as_proposals=True)
    train_cfg = dict(assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.5,
                                   min_pos_iou=0.5, ignore_iof_thr=-1),
                     sampler=sampler, pos_weight=-1)
    if pisa:
        train_cfg.update(sampler=dict(sampler, type='ScoreHLRSampler', k=0.5, bias=0.),
                         isr=dict(k=2, bias=0), carl=dict(k=1, bias=0.2))
    torch.manual_seed(0)
    return build_head(dict(
        type=roi_type,
        bbox_roi_extractor=dict(type='SingleRoIExtractor',
                                roi_layer=dict(type='RoIAlign', output_size=7, sampling_ratio=0),
                                out_channels=8, featmap_strides=[4, 8]),
        bbox_head=dict(type='Shared2FCBBoxHead', in_channels=8, fc_out_channels=16,
                       roi_feat_size=7, num_classes=3),
        train_cfg=train_cfg,
        test_cfg=dict(score_thr=0.0, nms=dict(type='nms', iou_threshold=0.5), max_per_img=5)))


def _inputs():
    torch.manual_seed(1)
    x = [torch.randn(2, 8, 16, 16), torch.randn(2, 8, 8, 8)]
    metas = [dict(img_shape=(64, 64, 3), ori_shape=(64, 64, 3), pad_shape=(64, 64, 3),
                  scale_factor=np.ones(4, np.float32), flip=False)] * 2
    proposals = [torch.tensor([[8., 8., 40., 36., .9], [44., 44., 60., 60., .8],
                               [0., 0., 20., 20., .5], [30., 0., 63., 20., .4]]),
                 torch.tensor([[4., 4., 30., 30., .5]])]
    gt_bboxes = [torch.tensor([[8., 8., 40., 40.]]), torch.zeros(0, 4)]
    gt_labels = [torch.tensor([2]), torch.zeros(0, dtype=torch.long)]
    return x, metas, proposals, gt_bboxes, gt_labels


def test_without_pisa_settings_it_is_the_standard_head():
    x, metas, proposals, gt_bboxes, gt_labels = _inputs()
    losses = []
    for roi_type in ('PISARoIHead', 'StandardRoIHead'):
        head = _head(roi_type)
        torch.manual_seed(2)
        losses.append(head.forward_train(x, metas, proposals, gt_bboxes, gt_labels))
    assert set(losses[0]) == set(losses[1]) == {'loss_cls', 'acc', 'loss_bbox'}
    for key in losses[0]:
        torch.testing.assert_close(losses[0][key], losses[1][key])


def test_pisa_weights_negatives_and_adds_carl():
    head = _head(pisa=True)
    x, metas, proposals, gt_bboxes, gt_labels = _inputs()
    captured = {}
    loss = head.bbox_head.loss

    def capture(cls_score, bbox_pred, rois, labels, label_weights, *args, **kwargs):
        captured.update(labels=labels, label_weights=label_weights.clone())
        return loss(cls_score, bbox_pred, rois, labels, label_weights, *args, **kwargs)

    head.bbox_head.loss = capture
    torch.manual_seed(2)
    losses = head.forward_train(x, metas, proposals, gt_bboxes, gt_labels)
    assert set(losses) == {'loss_cls', 'acc', 'loss_bbox', 'loss_carl'}
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    neg = captured['labels'] == 3
    # the sampler's score-based weights, not the uniform 1 of negatives
    assert neg.any() and not torch.all(captured['label_weights'][neg] == 1)
    assert torch.all(captured['label_weights'] >= 0)
