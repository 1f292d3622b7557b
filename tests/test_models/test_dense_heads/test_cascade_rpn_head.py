"""Cascade RPN: anchor offsets against worked values (an anchor-sized deformable conv is a
dilated conv), region targets and losses with empty and non-empty ground truth, refinement,
proposals, and the 2.x checks."""
import copy

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config

from mmdet_lite.models import build_head
from mmdet_lite.models.dense_heads import AdaptiveConv, CascadeRPNHead, StageCascadeRPNHead

from ._helpers import feats_for, make_metas

pytestmark = pytest.mark.usefixtures('one_thread')

STRIDES = [4, 8, 16, 32, 64]


def crpn_cfg(channels: int = 8) -> dict:
    """configs/crpn_faster_rcnn_r50_fpn_1x.py's head with its train/test configs, narrow."""
    model = Config.fromfile('configs/crpn_faster_rcnn_r50_fpn_1x.py').model
    head = copy.deepcopy(model.rpn_head.to_dict())
    for stage in head['stages']:
        stage.update(in_channels=channels, feat_channels=channels)
    head.update(train_cfg=copy.deepcopy(model.train_cfg.rpn),
                test_cfg=copy.deepcopy(model.test_cfg.rpn.to_dict()))
    return head


def _head():
    torch.manual_seed(0)
    head = build_head(crpn_cfg())
    head.init_weights()
    return head


def test_structure_and_state_dict_names():
    head = _head()
    assert isinstance(head, CascadeRPNHead) and len(head.stages) == 2
    assert all(isinstance(s, StageCascadeRPNHead) for s in head.stages)
    assert set(head.state_dict()) == {
        'stages.0.rpn_conv.conv.weight', 'stages.0.rpn_conv.conv.bias',
        'stages.0.rpn_reg.weight', 'stages.0.rpn_reg.bias',
        'stages.1.rpn_conv.conv.weight', 'stages.1.rpn_cls.weight', 'stages.1.rpn_cls.bias',
        'stages.1.rpn_reg.weight', 'stages.1.rpn_reg.bias'}
    assert not head.stages[0].sampling and head.stages[1].sampling


def test_anchor_offsets_worked_example():
    stage = _head().stages[1]
    # 3 x 2 level of stride 4; each location's square anchor of side 32 centred on it:
    # w = 32 / 4 / 2 - 1 = 3 -> taps at (3 * dy, 3 * dx); the last one moved right by 4 px.
    ys, xs = torch.meshgrid(torch.arange(3.), torch.arange(2.), indexing='ij')
    ctr = torch.stack([xs.reshape(-1), ys.reshape(-1)], 1) * 4
    anchors = torch.cat([ctr - 16, ctr + 16], 1)
    anchors[-1] += torch.tensor([4., 0., 4., 0.])
    offsets = stage.anchor_offset([[anchors]], [4], [(3, 2)])[0][0]
    assert offsets.shape == (6, 18)
    taps = torch.tensor([[dy * 3., dx * 3.] for dy in (-1, 0, 1) for dx in (-1, 0, 1)])
    torch.testing.assert_close(offsets[0], taps.reshape(-1))
    torch.testing.assert_close(offsets[-1], (taps + torch.tensor([0., 1.])).reshape(-1))


def test_offset_conv_on_anchor_sized_offsets_is_a_dilated_conv():
    torch.manual_seed(0)
    conv = AdaptiveConv(4, 5, type='offset')
    stage = _head().stages[1]
    h, w, stride, dilation = 5, 6, 8, 2
    ys, xs = torch.meshgrid(torch.arange(float(h)), torch.arange(float(w)), indexing='ij')
    ctr = torch.stack([xs.reshape(-1), ys.reshape(-1)], 1) * stride
    half = stride * dilation   # side 2 * d * stride: taps d cells apart
    anchors = torch.cat([ctr - half, ctr + half], 1)
    offset = stage.anchor_offset([[anchors]], [stride], [(h, w)])[0]
    x = torch.randn(1, 4, h, w)
    expected = F.conv2d(x, conv.conv.weight, padding=dilation, dilation=dilation)
    torch.testing.assert_close(conv(x, offset), expected, atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match='offsets'):
        conv(x, None)


@pytest.mark.parametrize('num_gts', [0, 2])
def test_losses_and_training_proposals(num_gts):
    head = _head()
    feats = feats_for((64, 96), STRIDES)
    gt = [torch.tensor([[20., 10., 60., 50.], [5., 30., 40., 62.]])[:num_gts]]
    losses, proposals = head.forward_train(feats, make_metas(), gt,
                                           proposal_cfg=dict(head.test_cfg))
    assert set(losses) == {'s0.loss_rpn_reg', 's1.loss_rpn_cls', 's1.loss_rpn_reg'}
    total = {k: sum(v) for k, v in losses.items()}
    assert all(torch.isfinite(v) for v in total.values())
    assert total['s1.loss_rpn_cls'] > 0
    if num_gts == 0:
        assert total['s0.loss_rpn_reg'] == 0 and total['s1.loss_rpn_reg'] == 0
    else:
        assert total['s0.loss_rpn_reg'] > 0 and total['s1.loss_rpn_reg'] > 0
    sum(total.values()).backward()
    grads = {n: p.grad for n, p in head.named_parameters()}
    assert grads['stages.0.rpn_reg.weight'].abs().sum() > 0 or num_gts == 0
    assert grads['stages.1.rpn_cls.weight'].abs().sum() > 0
    assert proposals[0].shape[1] == 5 and 0 < len(proposals[0]) <= 300


def test_region_targets_label_objects_as_class_zero():
    stage = _head().stages[0]
    sizes = [(16, 24), (8, 12), (4, 6), (2, 3), (1, 2)]
    anchors, flags = stage.get_anchors(sizes, make_metas())
    gt = [torch.tensor([[16., 16., 48., 48.]])]
    targets = stage.region_targets(anchors, flags, gt, make_metas(), sizes)
    labels = torch.cat(targets.labels_list, 1)[0]
    weights = torch.cat(targets.bbox_weights_list, 1)[0]
    pos = weights[:, 0] > 0
    assert pos.sum() == targets.num_total_pos > 0
    assert (labels[pos] == 0).all() and (labels[~pos] == 1).all()


def test_refine_zero_deltas_keeps_anchors_and_proposals_at_test():
    head = _head()
    stage = head.stages[0]
    sizes = [(16, 24), (8, 12), (4, 6), (2, 3), (1, 2)]
    anchors, _ = stage.get_anchors(sizes, make_metas())
    deltas = [torch.zeros(1, 4, h, w) for h, w in sizes]
    refined = stage.refine_bboxes(anchors, deltas, make_metas())
    clipped = anchors[0][2].clone()
    clipped[:, 0::2] = clipped[:, 0::2].clamp(0, 96)
    clipped[:, 1::2] = clipped[:, 1::2].clamp(0, 64)
    torch.testing.assert_close(refined[0][2], clipped)
    head.eval()
    proposals = head.simple_test_rpn(feats_for((64, 96), STRIDES, batch=2), make_metas(2))
    assert len(proposals) == 2 and all(p.shape[1] == 5 for p in proposals)
    assert all((p[:-1, 4] >= p[1:, 4]).all() for p in proposals)


def test_two_x_checks():
    head = _head()
    with pytest.raises(NotImplementedError, match='augmentation'):
        head.aug_test_rpn([], [])
    with pytest.raises(ValueError, match='gt_labels'):
        head.forward_train(feats_for((64, 96), STRIDES), make_metas(), [torch.zeros(0, 4)],
                           gt_labels=[torch.zeros(0, dtype=torch.long)])
    cfg = crpn_cfg()
    cfg['num_stages'] = 3
    with pytest.raises(ValueError, match='num_stages'):
        build_head(cfg)
    with pytest.raises(ValueError, match='kernel_size'):
        AdaptiveConv(4, 4, kernel_size=5)
