import pytest
import torch

from mmdet_lite.models import build_head
from mmdet_lite.models.dense_heads import AnchorHead

from ._helpers import feats_for, make_metas

# Tiny models: one torch thread (tests/conftest.py) avoids oversubscribing shared CPUs.
pytestmark = pytest.mark.usefixtures('one_thread')

STRIDES = [4, 8, 16, 32, 64]


def _cfg(use_sigmoid=False, num_classes=4):
    return dict(
        type='AnchorHead', num_classes=num_classes, in_channels=8, feat_channels=8,
        loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=use_sigmoid, loss_weight=1.0),
        loss_bbox=dict(type='SmoothL1Loss', beta=1.0 / 9.0, loss_weight=1.0),
        train_cfg=dict(assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.3,
                                     min_pos_iou=0.3, ignore_iof_thr=0.5),
                       sampler=dict(type='RandomSampler', num=64, pos_fraction=0.25,
                                    neg_pos_ub=-1, add_gt_as_proposals=False),
                       allowed_border=-1, pos_weight=2.0),
        test_cfg=dict(nms_pre=100, score_thr=0.05, nms=dict(type='nms', iou_threshold=0.5),
                      max_per_img=10))


def test_anchor_head_default_layers_and_aliases():
    head = build_head(_cfg())
    assert isinstance(head, AnchorHead) and head.sampling
    with pytest.warns(UserWarning, match='num_base_priors'):
        assert head.cls_out_channels == 5 and head.num_anchors == head.num_base_priors == 9
    with pytest.warns(UserWarning, match='prior_generator'):
        assert head.anchor_generator is head.prior_generator
    assert set(head.state_dict()) == {'conv_cls.weight', 'conv_cls.bias', 'conv_reg.weight',
                                      'conv_reg.bias'}


def test_config_dicts_are_not_mutated():
    cfg = _cfg()
    before = repr(cfg)
    head = build_head(cfg)
    head.train_cfg.allowed_border = 5
    head.test_cfg.nms.iou_threshold = 0.1
    assert repr(cfg) == before


def test_softmax_head_losses_pos_weight_and_ignore():
    torch.manual_seed(0)
    head = build_head(_cfg())
    head.init_weights()
    feats = feats_for((32, 48), STRIDES)
    outs = head(feats)
    metas = make_metas(img_shape=(32, 48))
    losses = head.loss(*outs, [torch.zeros(0, 4)], [torch.zeros(0, dtype=torch.long)], metas)
    assert sum(losses['loss_cls']).item() > 0 and sum(losses['loss_bbox']).item() == 0

    gt = torch.tensor([[4., 4., 36., 28.]])
    anchors, flags = head.get_anchors([f.shape[-2:] for f in feats], metas)
    labels, label_w, _, _, num_pos, _ = head.get_targets(
        anchors, flags, [gt], metas, gt_bboxes_ignore_list=[torch.tensor([[0., 0., 48., 32.]])],
        gt_labels_list=[torch.tensor([3])])
    labels, label_w = torch.cat(labels, 1)[0], torch.cat(label_w, 1)[0]
    assert (labels == 3).any() and torch.all(label_w[labels == 3] == 2.0)  # pos_weight
    # Sampled negatives (weight 1, background label) all overlap the ignore box (the whole
    # image) by at most 0.5 of their own area (iof), computed here by hand.
    flat = torch.cat(anchors[0])
    iw = (flat[:, 2].clamp(max=48) - flat[:, 0].clamp(min=0)).clamp(min=0)
    ih = (flat[:, 3].clamp(max=32) - flat[:, 1].clamp(min=0)).clamp(min=0)
    iof = iw * ih / ((flat[:, 2] - flat[:, 0]) * (flat[:, 3] - flat[:, 1]))
    negatives = (label_w == 1) & (labels == 4)
    assert negatives.any() and torch.all(iof[negatives] <= 0.5)
    assert int((label_w > 0).sum()) <= 64

    losses = head.forward_train(feats, metas, [gt], [torch.tensor([3])])
    assert sum(losses['loss_cls']).item() > 0 and sum(losses['loss_bbox']).item() > 0


def test_softmax_get_bboxes_drops_background_column():
    head = build_head(_cfg())
    feats = feats_for((32, 48), STRIDES)
    cls_scores, bbox_preds = head(feats)
    bbox_preds = [torch.zeros_like(b) for b in bbox_preds]
    # Background (last column of each anchor's 5 logits) wins everywhere except one anchor.
    cls_scores = [torch.zeros_like(c) for c in cls_scores]
    for c in cls_scores:
        c.view(1, 9, 5, *c.shape[-2:])[:, :, 4] = 10.
    # Base anchor 3 = ratio 1.0 (second ratio) x scale 8 (first scale), scale-major order.
    cls_scores[1].view(1, 9, 5, 4, 6)[0, 3, 2, 2, 3] = 20.
    (det_bboxes, det_labels), = head.get_bboxes(cls_scores, bbox_preds,
                                                img_metas=make_metas(img_shape=(32, 48)))
    assert det_labels.tolist() == [2]
    # Anchor: level 1 (stride 8, scale 8 -> 64 px), location (row 2, col 3), ratio 1.0.
    # Zero deltas decode to the anchor, clipped to the 48 x 32 image.
    torch.testing.assert_close(det_bboxes[0, :4], torch.tensor([0., 0., 48., 32.]))
    assert det_bboxes[0, 4] > 0.99


def test_rescale_divides_by_scale_factor():
    head = build_head(_cfg(use_sigmoid=True))
    feats = feats_for((32, 48), STRIDES)
    outs = head(feats)
    plain = head.get_bboxes(*outs, img_metas=make_metas(img_shape=(32, 48)))[0][0]
    scaled = head.get_bboxes(*outs, img_metas=make_metas(img_shape=(32, 48), scale_factor=2.0),
                             rescale=True)[0][0]
    torch.testing.assert_close(scaled[:, :4] * 2, plain[:, :4])


def test_wrong_number_of_levels_error():
    head = build_head(_cfg())
    outs = head(feats_for((32, 48), STRIDES[:3]))
    with pytest.raises(ValueError, match='num_outs'):
        head.loss(*outs, [torch.zeros(0, 4)], [torch.zeros(0, dtype=torch.long)],
                  make_metas(img_shape=(32, 48)))
