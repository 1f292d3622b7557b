import pytest
import torch
from torchvision.ops import batched_nms as tv_batched_nms

from mmdet_lite.core import DeltaXYWHBBoxCoder
from mmdet_lite.models import build_head
from mmdet_lite.models.dense_heads import RPNHead

from ._helpers import feats_for, make_metas, rpn_cfg

# Tiny models: one torch thread (tests/conftest.py) avoids oversubscribing shared CPUs.
pytestmark = pytest.mark.usefixtures('one_thread')

STRIDES = [4, 8, 16, 32, 64]


def _head(**kw):
    torch.manual_seed(0)
    head = build_head(rpn_cfg(**kw))
    head.init_weights()
    return head


def test_rpn_head_layers_and_names():
    head = _head()
    assert isinstance(head, RPNHead) and head.num_classes == 1 and head.cls_out_channels == 1
    assert set(head.state_dict()) == {'rpn_conv.weight', 'rpn_conv.bias', 'rpn_cls.weight',
                                      'rpn_cls.bias', 'rpn_reg.weight', 'rpn_reg.bias'}
    cfg = rpn_cfg()
    cfg['num_convs'] = 2
    head = build_head(cfg)
    assert 'rpn_conv.1.conv.weight' in head.state_dict()
    cls_scores, _ = head(feats_for((32, 32), STRIDES))
    assert cls_scores[0].shape == (1, 3, 8, 8)


def test_rpn_empty_gt_and_one_gt_losses_and_grads():
    head = _head()
    feats = feats_for((64, 96), STRIDES)
    losses = head.forward_train(feats, make_metas(), [torch.zeros(0, 4)])
    assert set(losses) == {'loss_rpn_cls', 'loss_rpn_bbox'}
    assert sum(losses['loss_rpn_cls']).item() > 0
    assert sum(losses['loss_rpn_bbox']).item() == 0

    losses = head.forward_train(feats, make_metas(), [torch.tensor([[20., 10., 60., 40.]])])
    loss_cls, loss_bbox = sum(losses['loss_rpn_cls']), sum(losses['loss_rpn_bbox'])
    assert loss_cls.item() > 0 and loss_bbox.item() > 0
    (loss_cls + loss_bbox).backward()
    for name, param in head.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, name


def test_rpn_sampler_limits_the_normaliser():
    """With RandomSampler(num=256) the average factor is the number of sampled anchors."""
    head = _head(allowed_border=-1)
    feats = feats_for((64, 96), STRIDES)
    cls_scores, bbox_preds = head(feats)
    anchors, flags = head.get_anchors([c.shape[-2:] for c in cls_scores], make_metas())
    labels, weights, _, _, num_pos, num_neg = head.get_targets(
        anchors, flags, [torch.tensor([[20., 10., 60., 40.]])], make_metas())
    assert 1 <= num_pos <= 128 and num_pos + num_neg == 256
    assert int(sum(w.sum() for w in weights)) == 256


def test_forward_train_with_proposal_cfg_returns_proposals():
    head = _head()
    feats = feats_for((64, 96), STRIDES, batch=2)
    proposal_cfg = dict(nms_pre=50, max_per_img=20, nms=dict(type='nms', iou_threshold=0.7),
                        min_bbox_size=0)
    losses, proposals = head.forward_train(
        feats, make_metas(2), [torch.tensor([[20., 10., 60., 40.]]), torch.zeros(0, 4)],
        proposal_cfg=proposal_cfg)
    assert 'loss_rpn_cls' in losses
    assert len(proposals) == 2 and all(p.shape[1] == 5 and p.shape[0] <= 20 for p in proposals)


def test_rpn_proposals_match_independent_levelwise_nms():
    head = _head()
    head.test_cfg.nms_pre = 30
    head.test_cfg.max_per_img = 40
    head.test_cfg.min_bbox_size = 2
    feats = feats_for((64, 96), STRIDES)
    cls_scores, bbox_preds = head(feats)
    cls_scores = [torch.randn_like(c) for c in cls_scores]
    bbox_preds = [torch.randn_like(b) * 0.5 for b in bbox_preds]
    (proposals,) = head.get_bboxes(cls_scores, bbox_preds, img_metas=make_metas())
    priors = head.prior_generator.grid_priors([c.shape[-2:] for c in cls_scores])
    coder = DeltaXYWHBBoxCoder()
    boxes, scores, ids = [], [], []
    for lvl, (c, b, p) in enumerate(zip(cls_scores, bbox_preds, priors)):
        s = c[0].permute(1, 2, 0).reshape(-1).sigmoid()
        d = b[0].permute(1, 2, 0).reshape(-1, 4)
        top = s.argsort(descending=True)[:30]
        boxes.append(coder.decode(p[top], d[top], max_shape=(64, 96)))
        scores.append(s[top])
        ids.append(torch.full((len(top),), lvl))
    boxes, scores, ids = torch.cat(boxes), torch.cat(scores), torch.cat(ids)
    big = ((boxes[:, 2] - boxes[:, 0]) > 2) & ((boxes[:, 3] - boxes[:, 1]) > 2)
    boxes, scores, ids = boxes[big], scores[big], ids[big]
    keep = tv_batched_nms(boxes, scores, ids, 0.7)[:40]
    assert proposals.shape == (len(keep), 5)
    torch.testing.assert_close(proposals[:, :4], boxes[keep])
    torch.testing.assert_close(proposals[:, 4], scores[keep])


def test_rpn_zero_proposals_when_all_boxes_are_too_small():
    head = _head()
    head.test_cfg.min_bbox_size = 1000
    feats = feats_for((64, 96), STRIDES, batch=2)
    proposals = head.simple_test_rpn(feats, make_metas(2))
    assert [tuple(p.shape) for p in proposals] == [(0, 5), (0, 5)]


def test_rpn_aug_test_merges_flipped_views():
    head = _head()
    feats = feats_for((64, 96), STRIDES)
    with torch.no_grad():
        merged = head.aug_test_rpn([feats, feats], [make_metas(), make_metas(flip=True)])
    assert len(merged) == 1 and merged[0].shape[1] == 5
    assert merged[0].shape[0] <= head.test_cfg.max_per_img
    assert torch.all(merged[0][:-1, 4] >= merged[0][1:, 4])


def test_rpn_anchors_outside_image_error():
    head = _head(allowed_border=0)
    # 4 x 4 image: even the smallest anchor (32 x 32 at stride 4) sticks out.
    feats = feats_for((4, 4), STRIDES)
    with pytest.raises(ValueError, match=r"no anchor lies inside image 'img_0\.jpg'"):
        head.forward_train(feats, make_metas(img_shape=(4, 4)), [torch.tensor([[0., 0., 3., 3.]])])
