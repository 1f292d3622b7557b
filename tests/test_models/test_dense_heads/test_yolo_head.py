"""YOLOV3Head: layers and init priors, a worked target, decoding thresholds, empty ground truth."""
import math

import pytest
import torch
from mmengine.model import bias_init_with_prob

from mmdet_lite.models import build_head
from mmdet_lite.models.dense_heads import YOLOV3Head
from mmdet_lite.models.utils.results import DenseCandidates

from ._helpers import make_metas

pytestmark = pytest.mark.usefixtures('one_thread')

STRIDES = [32, 16, 8]


def _cfg(**kw):
    cfg = dict(
        type='YOLOV3Head', num_classes=2, in_channels=[8, 6, 4], out_channels=[8, 6, 4],
        anchor_generator=dict(type='YOLOAnchorGenerator',
                              base_sizes=[[(40, 40), (60, 30), (30, 60)],
                                          [(20, 20), (24, 12), (12, 24)],
                                          [(6, 6), (8, 4), (4, 8)]],
                              strides=STRIDES),
        bbox_coder=dict(type='YOLOBBoxCoder'), featmap_strides=STRIDES,
        loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0,
                      reduction='sum'),
        loss_conf=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0,
                       reduction='sum'),
        loss_xy=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=2.0,
                     reduction='sum'),
        loss_wh=dict(type='MSELoss', loss_weight=2.0, reduction='sum'),
        train_cfg=dict(assigner=dict(type='GridAssigner', pos_iou_thr=0.5, neg_iou_thr=0.5,
                                     min_pos_iou=0)),
        test_cfg=dict(nms_pre=1000, min_bbox_size=0, score_thr=0.05, conf_thr=0.005,
                      nms=dict(type='nms', iou_threshold=0.45), max_per_img=100))
    cfg.update(kw)
    return cfg


def _head(**kw):
    torch.manual_seed(0)
    head = build_head(_cfg(**kw))
    head.init_weights()
    return head


def _feats(batch=1, size=64):
    torch.manual_seed(1)
    return [torch.randn(batch, c, size // s, size // s) for c, s in zip([8, 6, 4], STRIDES)]


def test_layers_and_init_priors():
    head = _head()
    assert isinstance(head, YOLOV3Head)
    assert head.num_attrib == 7 and head.num_base_priors == 3
    assert {'convs_bridge.0.conv.weight', 'convs_bridge.0.bn.weight', 'convs_pred.2.weight',
            'convs_pred.2.bias'} <= set(head.state_dict())
    for conv_pred, stride in zip(head.convs_pred, STRIDES):
        bias = conv_pred.bias.view(3, 7)
        torch.testing.assert_close(bias[:, 4], torch.full((3,), bias_init_with_prob(
            8 / (608 / stride) ** 2)))
        torch.testing.assert_close(bias[:, 5:], torch.full((3, 2), bias_init_with_prob(0.01)))
        assert bias[:, :4].abs().max() == 0


def test_forward_shapes():
    head = _head()
    (pred_maps,) = head(_feats(batch=2))
    assert [tuple(p.shape) for p in pred_maps] == [(2, 21, 2, 2), (2, 21, 4, 4), (2, 21, 8, 8)]


def test_worked_target_of_one_box():
    # GT centre (30, 30), 24 x 20. Responsible cells: (0, 0) at stride 32, (1, 1) at 16, (3, 3)
    # at 8. Best responsible anchor: the 20 x 20 one centred at (24, 24) (IoU 224 / 656 < 0.5,
    # positive through min_pos_iou=0), flat index 2*2*3 + (1*4 + 1)*3 + 0 = 27.
    head = _head()
    sizes = [(2, 2), (4, 4), (8, 8)]
    anchors = head.prior_generator.grid_priors(sizes)
    gt = torch.tensor([[18., 20., 42., 40.]])
    flags = head.prior_generator.responsible_flags(sizes, gt)
    target_map, neg_map = head._get_targets_single(anchors, flags, gt, torch.tensor([1]))
    pos = target_map[:, 4].nonzero().view(-1)
    assert pos.tolist() == [27]
    torch.testing.assert_close(target_map[27], torch.tensor(
        [0.875, 0.875, math.log(24 / 20), 0., 1., 0., 1.]))
    assert int(neg_map.sum()) == target_map.size(0) - 1 and neg_map[27] == 0


def test_empty_gt_gives_objectness_loss_only():
    head = _head()
    (pred_maps,) = head(_feats())
    losses = head.loss(pred_maps, [torch.zeros(0, 4)], [torch.zeros(0, dtype=torch.long)],
                       make_metas(img_shape=(64, 64)))
    assert sum(losses['loss_conf']).item() > 0
    for key in ('loss_cls', 'loss_xy', 'loss_wh'):
        assert sum(losses[key]).item() == 0, key


def test_one_gt_gives_every_loss_and_gradients():
    head = _head()
    (pred_maps,) = head(_feats())
    losses = head.loss(pred_maps, [torch.tensor([[18., 20., 42., 40.]])], [torch.tensor([1])],
                       make_metas(img_shape=(64, 64)))
    for key in ('loss_cls', 'loss_conf', 'loss_xy', 'loss_wh'):
        assert sum(losses[key]).item() > 0, key
    sum(sum(v) for v in losses.values()).backward()
    assert all(p.grad is not None for p in head.parameters())


def test_gt_bboxes_ignore_is_refused():
    head = _head()
    (pred_maps,) = head(_feats())
    with pytest.raises(ValueError, match='gt_bboxes_ignore'):
        head.loss(pred_maps, [torch.tensor([[18., 20., 42., 40.]])], [torch.tensor([1])],
                  make_metas(img_shape=(64, 64)),
                  gt_bboxes_ignore=[torch.tensor([[0., 0., 8., 8.]])])


def _one_anchor_maps(objectness_logit):
    """Prediction maps of a 64 x 64 image: every logit -10 except anchor 0 of cell (1, 1) at
    stride 16 (centre (24, 24), 20 x 20) with class 1 at +10; boxes are the anchors."""
    maps = []
    for size in (2, 4, 8):
        m = torch.zeros(1, 3, 7, size, size)
        m[:, :, 4:] = -10.
        maps.append(m)
    maps[1][0, 0, 4, 1, 1] = objectness_logit
    maps[1][0, 0, 6, 1, 1] = 10.
    return [m.view(1, 21, *m.shape[-2:]) for m in maps]


def test_get_bboxes_decodes_and_thresholds():
    head = _head()
    (det_bboxes, det_labels), = head.get_bboxes(_one_anchor_maps(10.),
                                                make_metas(img_shape=(64, 64)))
    assert det_labels.tolist() == [1]
    torch.testing.assert_close(det_bboxes[0, :4], torch.tensor([14., 14., 34., 34.]))
    torch.testing.assert_close(det_bboxes[0, 4], torch.sigmoid(torch.tensor(10.)) ** 2)
    # rescale divides by the scale factor
    (rescaled, _), = head.get_bboxes(_one_anchor_maps(10.),
                                     make_metas(img_shape=(64, 64), scale_factor=2.0),
                                     rescale=True)
    torch.testing.assert_close(rescaled[0, :4], torch.tensor([7., 7., 17., 17.]))
    # objectness sigmoid(-5.6) = 0.0037 < conf_thr 0.005: nothing left
    (none, _), = head.get_bboxes(_one_anchor_maps(-5.6), make_metas(img_shape=(64, 64)))
    assert none.shape == (0, 5)
    candidates, = head.get_bboxes(_one_anchor_maps(10.), make_metas(img_shape=(64, 64)),
                                  with_nms=False)
    assert isinstance(candidates, DenseCandidates) and candidates.labels.tolist() == [1]
