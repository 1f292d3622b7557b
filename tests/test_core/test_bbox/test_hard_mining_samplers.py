"""OHEMSampler and ScoreHLRSampler: with a stand-in RoI head whose scores are known (worked
values, standard and cascade contexts), and wired into a real StandardRoIHead."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mmdet_lite.core import AssignResult, build_sampler
from mmdet_lite.core.bbox.coder import DeltaXYWHBBoxCoder
from mmdet_lite.core.bbox.samplers import OHEMSampler, ScoreHLRSampler
from mmdet_lite.models.builder import build_head

NUM_CLASSES = 2


class _BoxHead:
    """Scores each RoI by a lookup on its x1 coordinate; loss as BBoxHead.loss('none')."""

    num_classes = NUM_CLASSES

    def __init__(self, logits_by_x1):
        self.logits_by_x1 = logits_by_x1
        self.bbox_coder = DeltaXYWHBBoxCoder()

    def __call__(self, rois):
        cls_score = torch.stack([self.logits_by_x1[int(x)] for x in rois[:, 1].tolist()])
        return cls_score, torch.zeros(len(rois), 4 * NUM_CLASSES)

    def loss(self, cls_score, bbox_pred, rois, labels, label_weights, bbox_targets,
             bbox_weights, reduction_override=None):
        assert reduction_override == 'none' and bbox_pred is None
        return dict(loss_cls=F.cross_entropy(cls_score, labels, reduction='none') *
                    label_weights)


class _RoIHead:
    """A StandardRoIHead stand-in: ``_bbox_forward(x, rois)``."""

    def __init__(self, head):
        self.bbox_head = head
        self.bbox_roi_extractor = None
        self.with_shared_head = False
        self.forward_calls = []

    def _bbox_forward(self, x, rois):
        self.forward_calls.append(len(rois))
        cls_score, bbox_pred = self.bbox_head(rois)
        return dict(cls_score=cls_score, bbox_pred=bbox_pred)


class _CascadeRoIHead:
    """A CascadeRoIHead stand-in: ``_bbox_forward(stage, x, rois)`` and list heads."""

    num_stages = 2

    def __init__(self, heads, stage):
        self.bbox_head = heads
        self.bbox_roi_extractor = [None, None]
        self.current_stage = stage
        self.stages_called = []

    def _bbox_forward(self, stage, x, rois):
        self.stages_called.append(stage)
        cls_score, bbox_pred = self.bbox_head[stage](rois)
        return dict(cls_score=cls_score, bbox_pred=bbox_pred)


def _scene(num_pos, num_neg):
    """Boxes whose x1 is their index; the first num_pos are positives of GT 1 (class 1)."""
    n = num_pos + num_neg
    x1 = torch.arange(n, dtype=torch.float)
    bboxes = torch.stack([x1, torch.zeros(n), x1 + 10, torch.full((n, ), 10.)], 1)
    gt_inds = torch.cat([torch.ones(num_pos, dtype=torch.long),
                         torch.zeros(num_neg, dtype=torch.long)])
    labels = torch.where(gt_inds > 0, torch.ones_like(gt_inds), torch.full_like(gt_inds, -1))
    return AssignResult(1, gt_inds, torch.zeros(n), labels=labels), bboxes


def _logits(n, seed):
    g = torch.Generator().manual_seed(seed)
    return {i: torch.randn(NUM_CLASSES + 1, generator=g) for i in range(n)}


def test_ohem_keeps_the_largest_losses():
    assign, bboxes = _scene(6, 20)
    logits = _logits(26, 0)
    context = _RoIHead(_BoxHead(logits))
    sampler = build_sampler(dict(type='OHEMSampler', num=12, pos_fraction=0.25,
                                 add_gt_as_proposals=False), context=context)
    assert sampler.bbox_head is context.bbox_head
    res = sampler.sample(assign, bboxes, torch.tensor([[0., 0., 10., 10.]]),
                         torch.tensor([1]), feats=[torch.zeros(1)])
    loss_pos = torch.stack([F.cross_entropy(logits[i][None], torch.tensor([1])) for i in range(6)])
    loss_neg = torch.stack([F.cross_entropy(logits[i][None], torch.tensor([NUM_CLASSES]))
                            for i in range(6, 26)])
    assert res.pos_inds.tolist() == sorted(loss_pos.topk(3)[1].tolist())
    assert res.neg_inds.tolist() == sorted((loss_neg.topk(9)[1] + 6).tolist())
    # few candidates: no forward, all of them
    context.forward_calls.clear()
    assign, bboxes = _scene(2, 5)
    res = sampler.sample(assign, bboxes, torch.tensor([[0., 0., 10., 10.]]), torch.tensor([1]),
                         feats=[torch.zeros(1)])
    assert res.pos_inds.tolist() == [0, 1] and res.neg_inds.tolist() == [2, 3, 4, 5, 6]
    assert context.forward_calls == []
    with pytest.raises(ValueError, match='feats'):
        sampler.sample(*_scene(6, 20), torch.zeros(0, 4))
    with pytest.raises(ValueError, match='context'):
        OHEMSampler(num=4, pos_fraction=0.5, context=None)


def test_ohem_cascade_context_uses_its_stage():
    assign, bboxes = _scene(0, 20)
    heads = [_BoxHead(_logits(20, 1)), _BoxHead(_logits(20, 2))]
    context = _CascadeRoIHead(heads, stage=1)
    sampler = OHEMSampler(num=8, pos_fraction=0.25, context=context, add_gt_as_proposals=False)
    assert sampler.bbox_head is heads[1]
    context.current_stage = 0  # the stage it was built for still counts
    res = sampler.sample(assign, bboxes, torch.zeros(0, 4), feats=[torch.zeros(1)])
    loss = torch.stack([F.cross_entropy(heads[1].logits_by_x1[i][None],
                                        torch.tensor([NUM_CLASSES])) for i in range(20)])
    assert res.neg_inds.tolist() == sorted(loss.topk(8)[1].tolist())
    assert context.stages_called == [1]


def test_score_hlr_worked_weights():
    # five negatives; foreground scores 0.9, 0.8, ~0, 0.7, ~0 -> boxes 0, 1, 3 are ranked;
    # 0 and 1 overlap (one NMS group), 3 stands alone
    big = 6.
    logits = {
        0: torch.tensor([0., big + math.log(9.), big]),  # fg 0.9 (class 0), bg ~0.1 ...
        10: torch.tensor([big + math.log(8.), 0., big + math.log(2.)]),
        20: torch.tensor([-big, -big, big]),
        30: torch.tensor([big + math.log(7.), 0., big + math.log(3.)]),
        40: torch.tensor([-big, -big, big]),
    }
    bboxes = torch.tensor([[0., 0., 100., 100.], [10., 0., 110., 100.], [20., 300., 30., 310.],
                           [30., 500., 130., 600.], [40., 700., 50., 710.]])
    assign = AssignResult(0, torch.zeros(5, dtype=torch.long), torch.zeros(5),
                          labels=torch.full((5, ), -1))
    context = _RoIHead(_BoxHead(logits))
    sampler = build_sampler(dict(type='ScoreHLRSampler', num=4, pos_fraction=0.25, k=0.5,
                                 bias=0., score_thr=0.05, iou_thr=0.5,
                                 add_gt_as_proposals=False), context=context)
    torch.manual_seed(0)
    res, weights = sampler.sample(assign, bboxes, torch.zeros(0, 4), feats=[torch.zeros(1)])
    # importance: box 0 = 3 - 0 + 0.9, box 3 = 3 - 0 + 0.7, box 1 = 3 - 1 + 0.8; then one
    # random low-scoring box (2 or 4)
    assert res.neg_inds[:3].tolist() == [0, 3, 1] and res.neg_inds[3].item() in (2, 4)
    # ranks 0, 1, 2 of U = max(4, 3) = 4 -> (4 - r) / 4, the random one gets the minimum;
    # then ^k and rescaled to keep the summed loss
    raw = torch.tensor([1., 0.75, 0.5, 0.5]).sqrt()
    loss = torch.stack([F.cross_entropy(logits[int(bboxes[i, 0])][None],
                                        torch.tensor([NUM_CLASSES]))
                        for i in res.neg_inds.tolist()])
    expected = raw * loss.sum() / (loss * raw).sum()
    assert torch.allclose(weights, expected, atol=1e-6)
    assert len(res.pos_inds) == 0


def test_score_hlr_edge_cases():
    torch.manual_seed(0)
    assign, bboxes = _scene(3, 10)
    logits = {i: torch.tensor([-9., -9., 9.]) for i in range(13)}  # every score below thr
    context = _RoIHead(_BoxHead(logits))
    sampler = ScoreHLRSampler(num=8, pos_fraction=0.25, context=context,
                              add_gt_as_proposals=False)
    res, weights = sampler.sample(assign, bboxes, torch.tensor([[0., 0., 10., 10.]]),
                                  torch.tensor([1]), feats=[torch.zeros(1)])
    assert len(res.pos_inds) == 2 and len(res.neg_inds) == 6
    assert torch.equal(weights, torch.ones(6))
    # no negatives: None weights, no forward
    assign, bboxes = _scene(3, 0)
    res, weights = sampler.sample(assign, bboxes, torch.tensor([[0., 0., 10., 10.]]),
                                  torch.tensor([1]), feats=[torch.zeros(1)])
    assert weights is None and len(res.neg_inds) == 0
    # zero proposals and no GT
    empty = AssignResult(0, torch.zeros(0, dtype=torch.long), torch.zeros(0),
                         labels=torch.zeros(0, dtype=torch.long))
    res, weights = sampler.sample(empty, torch.zeros(0, 4), torch.zeros(0, 4),
                                  feats=[torch.zeros(1)])
    assert len(res.pos_inds) == len(res.neg_inds) == 0 and weights is None


def _roi_head(sampler):
    cfg = dict(
        type='StandardRoIHead',
        bbox_roi_extractor=dict(type='SingleRoIExtractor',
                                roi_layer=dict(type='RoIAlign', output_size=7, sampling_ratio=0),
                                out_channels=8, featmap_strides=[4]),
        bbox_head=dict(type='Shared2FCBBoxHead', in_channels=8, fc_out_channels=16,
                       roi_feat_size=7, num_classes=3),
        train_cfg=dict(assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.5,
                                     min_pos_iou=0.5, ignore_iof_thr=-1),
                       sampler=sampler, pos_weight=-1, debug=False))
    torch.manual_seed(0)
    return build_head(cfg)


def test_ohem_in_standard_roi_head_forward_train():
    head = _roi_head(dict(type='OHEMSampler', num=16, pos_fraction=0.25, neg_pos_ub=-1,
                          add_gt_as_proposals=True))
    assert isinstance(head.bbox_sampler, OHEMSampler) and head.bbox_sampler.context is head
    torch.manual_seed(1)
    x = [torch.randn(2, 8, 16, 16)]
    metas = [dict(img_shape=(64, 64, 3), ori_shape=(64, 64, 3), pad_shape=(64, 64, 3),
                  scale_factor=np.ones(4, np.float32), flip=False)] * 2
    xy = torch.rand(40, 2) * 44
    proposals = [torch.cat([xy, xy + 20], 1), torch.zeros(0, 4)]
    gt_bboxes = [torch.tensor([[8., 8., 40., 40.]]), torch.zeros(0, 4)]
    gt_labels = [torch.tensor([2]), torch.zeros(0, dtype=torch.long)]
    losses = head.forward_train(x, metas, proposals, gt_bboxes, gt_labels)
    assert torch.isfinite(losses['loss_cls']) and torch.isfinite(losses['loss_bbox'])
    # the mined negatives are the 16 - P hardest of image 0 under the current head
    assign = head.bbox_assigner.assign(proposals[0], gt_bboxes[0], None, gt_labels[0])
    res = head.bbox_sampler.sample(assign, proposals[0], gt_bboxes[0], gt_labels[0],
                                   feats=[x[0][:1]])
    neg_all = torch.nonzero(assign.gt_inds == 0).view(-1)
    boxes_all = torch.cat([gt_bboxes[0], proposals[0]])
    with torch.no_grad():
        cls_score = head._bbox_forward([x[0][:1]], torch.cat(
            [torch.zeros(len(neg_all), 1), boxes_all[neg_all]], 1))['cls_score']
    ce = F.cross_entropy(cls_score, torch.full((len(neg_all), ), 3), reduction='none')
    expected = neg_all[ce.topk(len(res.neg_inds))[1]]
    assert res.neg_inds.tolist() == sorted(expected.tolist())
