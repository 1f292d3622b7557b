"""YOLOXHead and the YOLOX detector: layers and init, decoding, targets with and without ground
truth, the L1 switch, the detector's multi-scale resize."""
import numpy as np
import pytest
import torch
from mmengine.model import bias_init_with_prob

from mmdet_lite.models import build_detector, build_head
from mmdet_lite.models.dense_heads import YOLOXHead
from mmdet_lite.models.utils.results import DenseCandidates

from ._helpers import make_metas

pytestmark = pytest.mark.usefixtures('one_thread')

STRIDES = (8, 16, 32)


def _head(**kw):
    cfg = dict(type='YOLOXHead', num_classes=2, in_channels=4, feat_channels=4,
               train_cfg=dict(assigner=dict(type='SimOTAAssigner', center_radius=2.5)),
               test_cfg=dict(score_thr=0.01, nms=dict(type='nms', iou_threshold=0.65)))
    cfg.update(kw)
    torch.manual_seed(0)
    head = build_head(cfg)
    head.init_weights()
    return head


def _feats(batch=1, size=64):
    torch.manual_seed(1)
    return [torch.randn(batch, 4, size // s, size // s) for s in STRIDES]


def test_layers_and_init():
    head = _head()
    assert isinstance(head, YOLOXHead)
    keys = set(head.state_dict())
    assert {'multi_level_cls_convs.0.0.conv.weight', 'multi_level_cls_convs.2.1.bn.weight',
            'multi_level_reg_convs.1.1.conv.weight', 'multi_level_conv_cls.2.weight',
            'multi_level_conv_reg.0.bias', 'multi_level_conv_obj.1.bias'} <= keys
    for conv in [*head.multi_level_conv_cls, *head.multi_level_conv_obj]:
        torch.testing.assert_close(conv.bias, torch.full_like(conv.bias,
                                                              bias_init_with_prob(0.01)))


def test_forward_shapes():
    cls_scores, bbox_preds, objectnesses = _head()(_feats(batch=2))
    for c, b, o, s in zip(cls_scores, bbox_preds, objectnesses, STRIDES):
        assert c.shape == (2, 2, 64 // s, 64 // s) and b.shape == (2, 4, 64 // s, 64 // s)
        assert o.shape == (2, 1, 64 // s, 64 // s)


def _one_prior_outputs(obj_logit=10.):
    """Head outputs of a 64 x 64 image: every logit -10 but the stride-8 prior at (x, y) =
    (8, 16) (column 1, row 2), class 1 at +10, box prediction (0.5, 0.25, log 2, 0)."""
    cls_scores = [torch.full((1, 2, 64 // s, 64 // s), -10.) for s in STRIDES]
    bbox_preds = [torch.zeros(1, 4, 64 // s, 64 // s) for s in STRIDES]
    objectnesses = [torch.full((1, 1, 64 // s, 64 // s), -10.) for s in STRIDES]
    cls_scores[0][0, 1, 2, 1] = 10.
    objectnesses[0][0, 0, 2, 1] = obj_logit
    bbox_preds[0][0, :, 2, 1] = torch.tensor([0.5, 0.25, float(np.log(2.)), 0.])
    return cls_scores, bbox_preds, objectnesses


def test_get_bboxes_decodes_worked_box():
    # centre (8, 16) + (0.5, 0.25) * 8 = (12, 18); size (2 * 8, 1 * 8)
    head = _head()
    (det_bboxes, det_labels), = head.get_bboxes(*_one_prior_outputs(),
                                                img_metas=make_metas(img_shape=(64, 64)))
    assert det_labels.tolist() == [1]
    torch.testing.assert_close(det_bboxes[0, :4], torch.tensor([4., 14., 20., 22.]))
    torch.testing.assert_close(det_bboxes[0, 4], torch.sigmoid(torch.tensor(10.)) ** 2)
    (rescaled, _), = head.get_bboxes(*_one_prior_outputs(),
                                     img_metas=make_metas(img_shape=(64, 64), scale_factor=2.),
                                     rescale=True)
    torch.testing.assert_close(rescaled[0, :4], torch.tensor([2., 7., 10., 11.]))
    # score sigmoid(10) * sigmoid(-5) = 0.0067 < score_thr 0.01
    (none, _), = head.get_bboxes(*_one_prior_outputs(-5.),
                                 img_metas=make_metas(img_shape=(64, 64)))
    assert none.shape == (0, 5)
    candidates, = head.get_bboxes(*_one_prior_outputs(), img_metas=make_metas(img_shape=(64, 64)),
                                  with_nms=False)
    assert isinstance(candidates, DenseCandidates) and candidates.labels.tolist() == [1]


def test_empty_gt_gives_objectness_loss_only():
    head = _head()
    head.use_l1 = True
    losses = head.loss(*head(_feats()), [torch.zeros(0, 4)], [torch.zeros(0, dtype=torch.long)],
                       make_metas(img_shape=(64, 64)))
    assert losses['loss_obj'].item() > 0
    for key in ('loss_cls', 'loss_bbox', 'loss_l1'):
        assert losses[key].item() == 0, key


def test_one_gt_and_the_l1_switch():
    head = _head()
    gt_bboxes, gt_labels = [torch.tensor([[10., 12., 42., 50.]])], [torch.tensor([1])]
    outs = head(_feats())
    losses = head.loss(*outs, gt_bboxes, gt_labels, make_metas(img_shape=(64, 64)))
    assert set(losses) == {'loss_cls', 'loss_bbox', 'loss_obj'}
    assert all(v.item() > 0 for v in losses.values())
    head.use_l1 = True
    losses = head.loss(*outs, gt_bboxes, gt_labels, make_metas(img_shape=(64, 64)))
    assert losses['loss_l1'].item() > 0
    sum(losses.values()).backward()
    assert all(p.grad is not None for p in head.parameters())
    torch.testing.assert_close(gt_bboxes[0], torch.tensor([[10., 12., 42., 50.]]))


def test_l1_target_is_centre_offset_and_log_size_in_strides():
    head = _head()
    target = head._get_l1_target(torch.zeros(1, 4), torch.tensor([[4., 14., 20., 22.]]),
                                 torch.tensor([[8., 16., 8., 8.]]))
    torch.testing.assert_close(target, torch.tensor([[0.5, 0.25, float(np.log(2.)), 0.]]),
                               atol=1e-6, rtol=0)


def test_yolox_resizes_batch_and_boxes_without_touching_the_callers():
    model = build_detector(dict(
        type='YOLOX', input_size=(64, 96), random_size_range=(3, 3), random_size_interval=1,
        backbone=dict(type='CSPDarknet', deepen_factor=0.33, widen_factor=0.125),
        neck=dict(type='YOLOXPAFPN', in_channels=[32, 64, 128], out_channels=8,
                  num_csp_blocks=1),
        bbox_head=dict(type='YOLOXHead', num_classes=2, in_channels=8, feat_channels=8),
        train_cfg=dict(assigner=dict(type='SimOTAAssigner', center_radius=2.5))))
    # size 3: (3 * 32, int(1.5 * 3) * 32) = (96, 128)
    assert model._random_resize('cpu') == (96, 128)
    model._input_size = (96, 128)
    boxes = [torch.tensor([[8., 16., 40., 48.]])]
    img, scaled = model._preprocess(torch.zeros(1, 3, 64, 96), boxes)
    assert img.shape == (1, 3, 96, 128)
    torch.testing.assert_close(scaled[0], torch.tensor([[8 * 4 / 3, 24., 40 * 4 / 3, 72.]]))
    torch.testing.assert_close(boxes[0], torch.tensor([[8., 16., 40., 48.]]))
