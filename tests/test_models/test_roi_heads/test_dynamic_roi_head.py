"""DynamicRoIHead: the recorded proposal-IoU and regression-target statistics and the update of
the assigner's IoU thresholds and the SmoothL1 beta, against worked values."""
import numpy as np
import pytest
import torch

from mmdet_lite.models.builder import build_head


def _head(interval=2, loss_bbox=dict(type='SmoothL1Loss', beta=1.0, loss_weight=1.0)):
    torch.manual_seed(0)
    return build_head(dict(
        type='DynamicRoIHead',
        bbox_roi_extractor=dict(type='SingleRoIExtractor',
                                roi_layer=dict(type='RoIAlign', output_size=7, sampling_ratio=0),
                                out_channels=8, featmap_strides=[4]),
        bbox_head=dict(type='Shared2FCBBoxHead', in_channels=8, fc_out_channels=16,
                       roi_feat_size=7, num_classes=3, loss_bbox=loss_bbox),
        train_cfg=dict(assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.4, neg_iou_thr=0.4,
                                     min_pos_iou=0.4, match_low_quality=False,
                                     ignore_iof_thr=-1),
                       sampler=dict(type='RandomSampler', num=16, pos_fraction=0.25,
                                    neg_pos_ub=-1, add_gt_as_proposals=True),
                       dynamic_rcnn=dict(iou_topk=3, beta_topk=1, update_iter_interval=interval,
                                         initial_iou=0.4, initial_beta=1.0),
                       pos_weight=-1),
        test_cfg=dict(score_thr=0.0, nms=dict(type='nms', iou_threshold=0.5), max_per_img=5)))


def test_update_hyperparameters_from_the_statistics():
    head = _head()
    head.iou_history, head.beta_history = [0.5, 0.7], [0.3, 0.1, 2.0]
    assert head.update_hyperparameters() == (0.6, 0.3)  # mean IoU, median beta
    assert head.bbox_assigner.pos_iou_thr == head.bbox_assigner.min_pos_iou == 0.6
    assert head.bbox_head.loss_bbox.beta == 0.3 and head.iou_history == []
    head.iou_history, head.beta_history = [0.2], [5.0]   # floors / ceilings
    assert head.update_hyperparameters() == (0.4, 1.0)
    head.iou_history, head.beta_history = [0.5], [0.0]   # a zero median keeps beta
    assert head.update_hyperparameters()[1] == 1.0


def test_forward_train_records_statistics_and_updates_every_interval():
    head = _head(interval=2)
    torch.manual_seed(1)
    x = [torch.randn(1, 8, 16, 16)]
    metas = [dict(img_shape=(64, 64, 3), scale_factor=np.ones(4, np.float32))]
    gt = [torch.tensor([[8., 8., 40., 40.]])]
    # IoUs with the GT: 1.0, 0.75, 0, and (as 2.x: the sampler adds the GT to the assignment
    # before the statistics are read) 1.0 for the GT itself: the 3rd largest is 0.75
    proposals = [torch.tensor([[8., 8., 40., 40.], [8., 8., 40., 32.], [44., 44., 60., 60.]])]
    head.forward_train(x, metas, proposals, gt, [torch.tensor([1])])
    assert head.iou_history == [pytest.approx(0.75)] and len(head.beta_history) == 1
    # positives: the GT itself and the proposal equal to it, both with target 0
    assert head.beta_history[0] == pytest.approx(0.0)
    head.forward_train(x, metas, proposals, gt, [torch.tensor([1])])
    assert head.iou_history == [] and head.bbox_assigner.pos_iou_thr == pytest.approx(0.75)
    with pytest.raises(TypeError, match='SmoothL1Loss'):
        _head(loss_bbox=dict(type='L1Loss'))
