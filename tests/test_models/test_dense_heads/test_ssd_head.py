"""SSDHead (and SSDLite's depth-wise variant), SSDNeck and SSDVGG: layers, hard negative mining
on a worked case, empty ground truth."""
import pytest
import torch
import torch.nn.functional as F

from mmdet_lite.models import build_backbone, build_head, build_neck

from ._helpers import make_metas

pytestmark = pytest.mark.usefixtures('one_thread')


def _head(**kw):
    cfg = dict(
        type='SSDHead', num_classes=2, in_channels=(8, 8),
        anchor_generator=dict(type='SSDAnchorGenerator', scale_major=False, strides=[16, 32],
                              ratios=[[2], [2, 3]], min_sizes=[16, 32], max_sizes=[32, 64]),
        bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[.0, .0, .0, .0],
                        target_stds=[0.1, 0.1, 0.2, 0.2]),
        train_cfg=dict(assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.5,
                                     min_pos_iou=0., ignore_iof_thr=-1,
                                     gt_max_assign_all=False),
                       smoothl1_beta=1., allowed_border=-1, pos_weight=-1, neg_pos_ratio=3),
        test_cfg=dict(nms_pre=1000, nms=dict(type='nms', iou_threshold=0.45), min_bbox_size=0,
                      score_thr=0.02, max_per_img=200))
    cfg.update(kw)
    torch.manual_seed(0)
    head = build_head(cfg)
    head.init_weights()
    return head


def _feats():
    torch.manual_seed(1)
    return [torch.randn(1, 8, 4, 4), torch.randn(1, 8, 2, 2)]


def test_layers_priors_and_init():
    head = _head()
    assert head.num_base_priors == [4, 6] and head.cls_out_channels == 3
    assert head.cls_convs[0][0].weight.shape == (12, 8, 3, 3)
    assert head.reg_convs[1][0].weight.shape == (24, 8, 3, 3)
    assert all(conv[0].bias.abs().max() == 0 for conv in [*head.cls_convs, *head.reg_convs])
    cls_scores, bbox_preds = head(_feats())
    assert [tuple(c.shape) for c in cls_scores] == [(1, 12, 4, 4), (1, 18, 2, 2)]
    assert [tuple(b.shape) for b in bbox_preds] == [(1, 16, 4, 4), (1, 24, 2, 2)]


def test_ssdlite_head_layers():
    head = _head(use_depthwise=True, norm_cfg=dict(type='BN'), act_cfg=dict(type='ReLU6'))
    keys = set(head.state_dict())
    assert {'cls_convs.0.0.conv.weight', 'cls_convs.0.0.bn.weight', 'cls_convs.0.1.weight',
            'reg_convs.1.1.bias'} <= keys
    assert head.cls_convs[0][0].conv.weight.shape == (8, 1, 3, 3)  # depth-wise 3x3
    assert head.cls_convs[0][1].weight.shape == (12, 8, 1, 1)


def test_hard_negative_mining_worked_case():
    # 1 positive (anchor 0, class 1) and 5 negatives: the 3 (= neg_pos_ratio x 1) negatives of
    # largest cross entropy (anchors 2, 3, 5) join the positive; anchor 4 (ignored) has weight 0.
    head = _head()
    cls_score = torch.tensor([[0., 2., 0.], [0., 0., 3.], [2., 0., 0.], [0., 3., 0.],
                              [9., 9., 0.], [1., 0., 0.], [0., 0., 5.]])
    labels = torch.tensor([1, 2, 2, 2, 2, 2, 2])
    label_weights = torch.tensor([1., 1., 1., 1., 0., 1., 1.])
    bbox_pred = torch.zeros(7, 4)
    bbox_pred[0] = torch.tensor([0.5, -2., 0., 0.])
    bbox_targets = torch.zeros(7, 4)
    bbox_weights = torch.zeros(7, 4)
    bbox_weights[0] = 1.
    loss_cls, loss_bbox = head.loss_single(cls_score, bbox_pred, torch.zeros(7, 4), labels,
                                           label_weights, bbox_targets, bbox_weights,
                                           num_total_samples=2)
    ce = F.cross_entropy(cls_score, labels, reduction='none')
    torch.testing.assert_close(loss_cls, ((ce[0] + ce[2] + ce[3] + ce[5]) / 2)[None])
    # smooth L1 (beta 1): 0.5 * 0.5^2 + (2 - 0.5) = 1.625, over 2 samples
    torch.testing.assert_close(loss_bbox, torch.tensor(1.625 / 2))


def test_empty_gt_gives_zero_losses():
    # no positive: no negative is mined either (neg_pos_ratio x 0), as 2.x
    head = _head()
    losses = head.loss(*head(_feats()), [torch.zeros(0, 4)], [torch.zeros(0, dtype=torch.long)],
                       make_metas(img_shape=(64, 64)))
    assert sum(losses['loss_cls']).item() == 0 and sum(losses['loss_bbox']).item() == 0


def test_one_gt_gives_both_losses_and_gradients():
    head = _head()
    losses = head.loss(*head(_feats()), [torch.tensor([[8., 8., 40., 40.]])],
                       [torch.tensor([1])], make_metas(img_shape=(64, 64)))
    assert sum(losses['loss_cls']).item() > 0 and sum(losses['loss_bbox']).item() > 0
    sum(sum(v) for v in losses.values()).backward()
    assert all(p.grad is not None for p in head.parameters())


def test_get_bboxes_uses_softmax_without_background():
    head = _head()
    (det_bboxes, det_labels), = head.get_bboxes(*head(_feats()),
                                                img_metas=make_metas(img_shape=(64, 64)))
    assert det_bboxes.shape[1] == 5 and det_labels.max() <= 1
    assert (det_bboxes[:, 4] >= 0.02).all()


def test_ssd_neck_l2_norm_and_extra_levels():
    neck = build_neck(dict(type='SSDNeck', in_channels=(4, 8), out_channels=(4, 8, 6, 4),
                           level_strides=(2, 1), level_paddings=(1, 0), l2_norm_scale=20))
    neck.init_weights()
    torch.testing.assert_close(neck.l2_norm.weight, torch.full((4,), 20.))
    outs = neck([torch.randn(1, 4, 8, 8), torch.randn(1, 8, 5, 5)])
    assert [tuple(o.shape) for o in outs] == [(1, 4, 8, 8), (1, 8, 5, 5), (1, 6, 3, 3),
                                              (1, 4, 1, 1)]
    # every location of the first map has L2 norm 20 over its channels
    torch.testing.assert_close(outs[0].norm(dim=1), torch.full((1, 8, 8), 20.))
    with pytest.raises(ValueError, match='out_channels'):
        build_neck(dict(type='SSDNeck', in_channels=(4, 8), out_channels=(4, 8, 6),
                        level_strides=(2, 1), level_paddings=(1, 0)))


def test_ssd_vgg_outputs():
    backbone = build_backbone(dict(type='SSDVGG', depth=11, out_feature_indices=(14, 24)))
    outs = backbone(torch.randn(1, 3, 64, 64))
    assert [tuple(o.shape) for o in outs] == [(1, 512, 8, 8), (1, 1024, 4, 4)]
    assert type(backbone.features[21]).__name__ == 'Conv2d'
    assert backbone.features[21].dilation == (6, 6)
