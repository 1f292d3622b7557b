"""DoubleHeadRoIHead / DoubleConvFCBBoxHead: classification from fc layers on the RoI features,
regression from convs on features of the RoIs enlarged by reg_roi_scale_factor."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mmdet_lite.models.builder import build_head


def _head():
    torch.manual_seed(0)
    head = build_head(dict(
        type='DoubleHeadRoIHead', reg_roi_scale_factor=1.3,
        bbox_roi_extractor=dict(type='SingleRoIExtractor',
                                roi_layer=dict(type='RoIAlign', output_size=7, sampling_ratio=0),
                                out_channels=8, featmap_strides=[4]),
        bbox_head=dict(type='DoubleConvFCBBoxHead', num_convs=1, num_fcs=1, in_channels=8,
                       conv_out_channels=8, fc_out_channels=16, roi_feat_size=7, num_classes=3),
        train_cfg=dict(assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.5,
                                     min_pos_iou=0.5, ignore_iof_thr=-1),
                       sampler=dict(type='RandomSampler', num=16, pos_fraction=0.25,
                                    neg_pos_ub=-1, add_gt_as_proposals=True), pos_weight=-1),
        test_cfg=dict(score_thr=0.0, nms=dict(type='nms', iou_threshold=0.5), max_per_img=5)))
    head.init_weights()
    return head


def test_branches_take_their_own_roi_features():
    head = _head()
    head.eval()
    x = [torch.randn(1, 8, 16, 16)]
    rois = torch.tensor([[0., 8., 8., 40., 32.], [0., 20., 4., 60., 60.]])
    with torch.no_grad():
        out = head._bbox_forward(x, rois)
        cls_feats = head.bbox_roi_extractor(x, rois)
        reg_feats = head.bbox_roi_extractor(x, head.bbox_roi_extractor.roi_rescale(rois, 1.3))
        bbox_head = head.bbox_head
        conv = bbox_head.conv_branch[0](bbox_head.res_block(reg_feats))
        expected_reg = bbox_head.fc_reg(conv.mean(dim=(2, 3)))
        expected_cls = bbox_head.fc_cls(F.relu(bbox_head.fc_branch[0](cls_feats.flatten(1))))
    torch.testing.assert_close(out['bbox_pred'], expected_reg)
    torch.testing.assert_close(out['cls_score'], expected_cls)
    assert out['bbox_pred'].shape == (2, 12) and out['cls_score'].shape == (2, 4)


def test_trains_and_tests():
    head = _head()
    x = [torch.randn(1, 8, 16, 16)]
    metas = [dict(img_shape=(64, 64, 3), ori_shape=(64, 64, 3),
                  scale_factor=np.ones(4, np.float32))]
    losses = head.forward_train(x, metas, [torch.tensor([[8., 8., 40., 32.]])],
                                [torch.tensor([[8., 8., 40., 40.]])], [torch.tensor([1])])
    assert set(losses) == {'loss_cls', 'acc', 'loss_bbox'}
    (losses['loss_cls'] + losses['loss_bbox']).backward()
    head.eval()
    with torch.no_grad():
        result = head.simple_test(x, [torch.tensor([[8., 8., 40., 32., .9]])], metas)
    assert len(result[0]) == 3
    with pytest.raises(ValueError, match='num_convs > 0'):
        build_head(dict(type='DoubleConvFCBBoxHead', num_convs=0, num_fcs=1))
