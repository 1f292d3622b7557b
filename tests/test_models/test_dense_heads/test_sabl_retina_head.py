"""SABLRetinaHead: names, bucket targets of squares assigned by their approximants, losses with
empty and non-empty ground truth, decoding with the localisation confidence."""
import copy

import pytest
import torch
from mmengine.config import Config

from mmdet_lite.models import build_head
from mmdet_lite.models.utils.results import DenseCandidates, Detections, SABLTargets

from ._helpers import feats_for, make_metas

pytestmark = pytest.mark.usefixtures('one_thread')

STRIDES = [8, 16, 32, 64, 128]


def _head():
    """configs/sabl_retinanet_r50_fpn_1x.py's head, narrow."""
    model = Config.fromfile('configs/sabl_retinanet_r50_fpn_1x.py').model
    cfg = copy.deepcopy(model.bbox_head.to_dict())
    cfg.update(num_classes=3, in_channels=8, feat_channels=8, stacked_convs=1,
               train_cfg=model.train_cfg.to_dict(), test_cfg=model.test_cfg.to_dict())
    torch.manual_seed(0)
    head = build_head(cfg)
    head.init_weights()
    return head


def test_layers_and_outputs():
    head = _head()
    assert head.side_num == 7 and head.num_base_priors == 1 and not head.sampling
    assert {'retina_cls.weight', 'retina_bbox_cls.weight', 'retina_bbox_reg.weight',
            'cls_convs.0.conv.weight', 'reg_convs.0.conv.weight'} <= set(head.state_dict())
    cls_scores, bbox_preds = head(feats_for((64, 96), STRIDES))
    assert cls_scores[0].shape == (1, 3, 8, 12)
    assert bbox_preds[0][0].shape == bbox_preds[0][1].shape == (1, 28, 8, 12)


def test_targets_of_one_gt():
    head = _head()
    sizes = [(8, 12), (4, 6), (2, 3), (1, 2), (1, 1)]
    metas = make_metas(1)
    approxs, flags = head.get_sampled_approxs(sizes, metas)
    squares = head.get_anchors(sizes, metas)
    gt, label = torch.tensor([[20., 10., 60., 50.]]), torch.tensor([2])
    targets = head.get_target(approxs, flags, squares, [gt], metas, gt_labels_list=[label])
    assert isinstance(targets, SABLTargets)
    labels = torch.cat(targets.labels_list, 1)[0]
    pos = labels < 3
    assert pos.sum() > 0 and (labels[pos] == 2).all()
    cls_t = torch.cat(targets.bbox_cls_targets_list, 1)[0]
    # each positive square has one target bucket per side; negatives none
    assert (cls_t[pos].view(-1, 4, 7).sum(-1) == 1).all() and cls_t[~pos].sum() == 0


@pytest.mark.parametrize('num_gts', [0, 1])
def test_losses(num_gts):
    head = _head()
    feats = feats_for((64, 96), STRIDES)
    gt = [torch.tensor([[20., 10., 60., 50.]])[:num_gts]]
    labels = [torch.tensor([1])[:num_gts]]
    losses = head.forward_train(feats, make_metas(), gt, labels)
    total = {k: sum(v) for k, v in losses.items()}
    assert set(total) == {'loss_cls', 'loss_bbox_cls', 'loss_bbox_reg'}
    assert total['loss_cls'] > 0 and all(torch.isfinite(v) for v in total.values())
    if num_gts:
        assert total['loss_bbox_cls'] > 0 and total['loss_bbox_reg'] > 0
    else:
        assert total['loss_bbox_cls'] == 0 and total['loss_bbox_reg'] == 0
    sum(total.values()).backward()
    assert head.retina_cls.weight.grad.abs().sum() > 0


def test_detections_scale_with_localisation_confidence():
    head = _head()
    torch.nn.init.constant_(head.retina_cls.bias, 0.)   # scores near 0.5: detections
    head.eval()
    feats = feats_for((64, 96), STRIDES, batch=2)
    outs = head(feats)
    cands = head.get_bboxes(*outs, img_metas=make_metas(2), with_nms=False)
    assert isinstance(cands[0], DenseCandidates)
    # by hand: every (square, class) pair above score_thr (nms_pre is not reached), scored
    # sigmoid(class logit) x the buckets' localisation confidence of its square
    squares = head.get_anchors([c.shape[-2:] for c in outs[0]], make_metas(1))[0]
    expected = []
    for cls_score, (bucket_cls, bucket_off), level_squares in zip(*outs, squares):
        scores = cls_score[0].permute(1, 2, 0).reshape(-1, 3).sigmoid()
        _, conf = head.bbox_coder.decode(
            level_squares, [bucket_cls[0].permute(1, 2, 0).reshape(-1, 28).contiguous(),
                            bucket_off[0].permute(1, 2, 0).reshape(-1, 28).contiguous()],
            (64, 96))
        expected.append((scores * conf[:, None])[scores > head.test_cfg.score_thr])
    torch.testing.assert_close(cands[0].scores.sort().values,
                               torch.cat(expected).sort().values)
    dets = head.simple_test(feats, make_metas(2))
    assert isinstance(dets[0], Detections) and 0 < len(dets[0].det_bboxes) <= 100
    assert set(dets[1].det_labels.tolist()) <= {0, 1, 2}


def test_aug_test_merges_flipped_views():
    head = _head()
    torch.nn.init.constant_(head.retina_cls.bias, 0.)
    head.eval()
    feats = feats_for((64, 96), STRIDES)
    (dets, ) = head.aug_test([feats, [f.flip(-1) for f in feats]],
                             [make_metas(1), make_metas(1, flip=True)])
    assert isinstance(dets, Detections) and 0 < len(dets.det_bboxes) <= 100
    assert (dets.det_bboxes[:, 2] <= 96).all() and (dets.det_bboxes[:, 0] >= 0).all()
