"""Named results: each NamedTuple a head returns reads the same by field and by 2.x index."""
import pytest
import torch

from mmdet_lite.core import AssignResult, SamplingResult, bbox2roi
from mmdet_lite.models import build_head
from mmdet_lite.models.utils import (AnchorTargets, BBoxTargets, DenseCandidates, Detections,
                                     ImageAnchorTargets, RoICandidates, SampledAnchorTargets)

from ..test_dense_heads._helpers import feats_for, make_metas, retina_cfg

pytestmark = pytest.mark.usefixtures('one_thread')

STRIDES = [8, 16, 32, 64, 128]


def _assert_fields_are_indices(result, cls):
    assert type(result) is cls
    assert len(result) == len(cls._fields)
    for i, name in enumerate(cls._fields):
        assert getattr(result, name) is result[i]


def _retina_and_targets(return_sampling_results=False):
    torch.manual_seed(0)
    head = build_head(retina_cfg())
    metas = make_metas(img_shape=(64, 96))
    feats = feats_for((64, 96), STRIDES)
    anchors, flags = head.get_anchors([f.shape[-2:] for f in feats], metas)
    gt = [torch.tensor([[8., 8., 60., 40.]])]
    targets = head.get_targets(anchors, flags, gt, metas, gt_labels_list=[torch.tensor([1])],
                               return_sampling_results=return_sampling_results)
    return head, anchors, flags, gt, metas, targets


def test_anchor_targets_of_one_image_and_of_the_batch():
    head, anchors, flags, gt, metas, targets = _retina_and_targets()
    _assert_fields_are_indices(targets, AnchorTargets)
    assert len(targets.labels_list) == len(STRIDES)
    assert sum(int((labels < 3).sum()) for labels in targets.labels_list) \
        == targets.num_total_pos > 0
    single = head._get_targets_single(torch.cat(anchors[0]), torch.cat(flags[0]), gt[0], None,
                                      torch.tensor([1]), metas[0])
    _assert_fields_are_indices(single, ImageAnchorTargets)
    assert int((single.labels == 1).sum()) == single.pos_inds.numel() > 0
    assert isinstance(single.sampling_result, SamplingResult)
    # 2.x-style positional unpacking still works.
    labels, label_weights, *_ = single
    assert labels is single.labels and label_weights is single.label_weights

    *_, sampled = _retina_and_targets(return_sampling_results=True)
    _assert_fields_are_indices(sampled, SampledAnchorTargets)
    assert len(sampled.sampling_results_list) == 1
    assert tuple(sampled[:6])[4:] == tuple(targets)[4:]


def test_anchor_targets_keep_a_subclass_extra_per_image_output_after_the_named_ones():
    head, anchors, flags, gt, metas, _ = _retina_and_targets()
    base_single = type(head)._get_targets_single

    def with_extra(*args, **kwargs):
        result = base_single(head, *args, **kwargs)
        return tuple(result) + (result.labels * 2, )

    head._get_targets_single = with_extra
    targets = head.get_targets(anchors, flags, gt, metas, gt_labels_list=[torch.tensor([1])])
    assert len(targets) == 7
    for level in range(len(STRIDES)):
        assert torch.equal(targets[6][level], targets[0][level] * 2)


def test_bbox_head_targets_candidates_and_detections():
    torch.manual_seed(0)
    head = build_head(dict(type='Shared2FCBBoxHead', in_channels=4, fc_out_channels=16,
                           roi_feat_size=3, num_classes=3))
    head.init_weights()
    proposals = torch.tensor([[0., 0., 10., 10.], [5., 5., 20., 20.], [30., 30., 40., 40.]])
    gt_bboxes, gt_labels = torch.tensor([[1., 1., 11., 11.]]), torch.tensor([2])
    gt_inds = torch.tensor([1, 0, 0])
    assign = AssignResult(1, gt_inds, torch.zeros(3), torch.tensor([2, -1, -1]))
    sampling = SamplingResult(torch.tensor([0]), torch.tensor([1, 2]), proposals, gt_bboxes,
                              assign, torch.zeros(3, dtype=torch.uint8))
    targets = head.get_targets([sampling], [gt_bboxes], [gt_labels], dict(pos_weight=-1))
    _assert_fields_are_indices(targets, BBoxTargets)
    assert targets.labels.tolist() == [2, 3, 3]
    per_image = head.get_targets([sampling], [gt_bboxes], [gt_labels], {}, concat=False)
    _assert_fields_are_indices(per_image, BBoxTargets)
    assert torch.equal(per_image.labels[0], targets.labels)

    rois = bbox2roi([proposals])
    cls_score, bbox_pred = head(torch.randn(3, 4, 3, 3))
    scale = torch.tensor([2., 2., 2., 2.])
    candidates = head.get_bboxes(rois, cls_score, bbox_pred, (48, 48, 3), scale, rescale=True)
    _assert_fields_are_indices(candidates, RoICandidates)
    assert candidates.bboxes.shape == (3, 12) and candidates.scores.shape == (3, 4)
    cfg = dict(score_thr=0.0, nms=dict(type='nms', iou_threshold=0.5), max_per_img=5)
    detections = head.get_bboxes(rois, cls_score, bbox_pred, (48, 48, 3), scale, rescale=True,
                                 cfg=cfg)
    _assert_fields_are_indices(detections, Detections)
    # cfg is only the switch: NMS of the candidates gives the same detections.
    again = head.nms_detections(candidates, cfg)
    assert torch.equal(again.det_bboxes, detections.det_bboxes)
    assert torch.equal(again.det_labels, detections.det_labels)


def test_dense_head_candidates_and_detections():
    torch.manual_seed(0)
    head = build_head(retina_cfg())
    head.init_weights()
    outs = head(feats_for((64, 96), STRIDES))
    metas = make_metas(img_shape=(64, 96))
    candidates = head.get_bboxes(*outs, img_metas=metas, with_nms=False)[0]
    _assert_fields_are_indices(candidates, DenseCandidates)
    detections = head.get_bboxes(*outs, img_metas=metas)[0]
    _assert_fields_are_indices(detections, Detections)
    det_bboxes, det_labels = head.simple_test(feats_for((64, 96), STRIDES), metas)[0]
    assert torch.equal(det_bboxes, detections.det_bboxes)
    assert torch.equal(det_labels, detections.det_labels)
