"""BaseDenseHead as 2.x subclasses use it: score factors, the with_nms switch, the 2.x
signatures, deprecated aliases and DCN offset init."""
import inspect

import pytest
import torch
from torch import nn

from mmdet_lite.models import build_head
from mmdet_lite.models.dense_heads import AnchorHead, BaseDenseHead, RPNHead
from mmdet_lite.models.utils import DenseCandidates, Detections

from ._helpers import feats_for, make_metas, retina_cfg

pytestmark = pytest.mark.usefixtures('one_thread')

STRIDES = [8, 16, 32, 64, 128]
CENTERNESS_BIAS = 1.0


class _CenternessHead(AnchorHead):
    """FCOS-style: a third output per level whose sigmoid multiplies the scores."""

    def _init_layers(self) -> None:
        super()._init_layers()
        self.conv_centerness = nn.Conv2d(self.in_channels, self.num_base_priors, 1)

    def forward_single(self, x):
        cls_score, bbox_pred = super().forward_single(x)
        return cls_score, bbox_pred, self.conv_centerness(x)


def _centerness_head():
    cfg = retina_cfg()
    for key in ('type', 'stacked_convs'):
        cfg.pop(key)
    cfg['test_cfg'].update(nms_pre=-1, score_thr=0.0)
    torch.manual_seed(0)
    head = _CenternessHead(**cfg)
    head.init_weights()
    nn.init.zeros_(head.conv_centerness.weight)
    nn.init.constant_(head.conv_centerness.bias, CENTERNESS_BIAS)
    return head


def test_score_factors_multiply_the_scores_by_their_sigmoid():
    head = _centerness_head()
    feats = feats_for((32, 48), STRIDES)
    metas = make_metas(img_shape=(32, 48))
    cls_scores, bbox_preds, centerness = head(feats)
    plain = head.get_bboxes(cls_scores, bbox_preds, img_metas=metas, with_nms=False)[0]
    factored = head.get_bboxes(cls_scores, bbox_preds, centerness, img_metas=metas,
                               with_nms=False)[0]
    factor = torch.sigmoid(torch.tensor(CENTERNESS_BIAS))
    assert torch.equal(factored.bboxes, plain.bboxes)
    assert torch.equal(factored.labels, plain.labels)
    torch.testing.assert_close(factored.scores, plain.scores * factor)

    # simple_test hands the third forward output over as score_factors.
    det_bboxes, det_labels = head.simple_test(feats, metas)[0]
    expected = head._nms_detections(factored, head.test_cfg)
    assert torch.equal(det_bboxes, expected.det_bboxes)
    assert torch.equal(det_labels, expected.det_labels)


def test_with_nms_switches_between_the_candidate_and_detection_methods():
    head = _centerness_head()
    cls_scores, bbox_preds, centerness = head(feats_for((32, 48), STRIDES))
    metas = make_metas(img_shape=(32, 48), scale_factor=2.0)
    candidates = head.get_bboxes(cls_scores, bbox_preds, centerness, img_metas=metas,
                                 rescale=True, with_nms=False)[0]
    detections = head.get_bboxes(cls_scores, bbox_preds, centerness, img_metas=metas,
                                 rescale=True)[0]
    assert isinstance(candidates, DenseCandidates) and isinstance(detections, Detections)
    expected = head._nms_detections(candidates, head.test_cfg)
    assert torch.equal(detections.det_bboxes, expected.det_bboxes)
    assert torch.equal(detections.det_labels, expected.det_labels)
    assert 0 < len(detections.det_bboxes) <= head.test_cfg.max_per_img
    # rescale divided the boxes by the scale factor: all lie inside the original 16 x 24 image.
    assert candidates.bboxes[:, 2].max() <= 24 + 1e-4 and candidates.bboxes[:, 3].max() <= 16


def test_get_bboxes_passes_extra_kwargs_to_the_single_image_step():
    head = _centerness_head()
    seen = []

    def _get_bboxes_single(*args, **kwargs):
        seen.append(kwargs)
        return BaseDenseHead._get_bboxes_single(head, *args, **kwargs)

    head._get_bboxes_single = _get_bboxes_single
    outs = head(feats_for((32, 48), STRIDES))
    head.get_bboxes(*outs, img_metas=make_metas(img_shape=(32, 48)), extra='value')
    assert seen == [dict(extra='value')]


def test_overrides_keep_the_2x_signatures():
    """Names 2.x subclasses (FCOS, ATSS, GFL, ...) call the base with."""
    def params(func):
        return list(inspect.signature(func).parameters)

    assert params(BaseDenseHead.get_bboxes) == [
        'self', 'cls_scores', 'bbox_preds', 'score_factors', 'img_metas', 'cfg', 'rescale',
        'with_nms', 'kwargs']
    assert params(BaseDenseHead._get_bboxes_single) == [
        'self', 'cls_score_list', 'bbox_pred_list', 'score_factor_list', 'mlvl_priors',
        'img_meta', 'cfg', 'rescale', 'with_nms', 'kwargs']
    assert params(BaseDenseHead._bbox_post_process) == [
        'self', 'mlvl_scores', 'mlvl_labels', 'mlvl_bboxes', 'scale_factor', 'cfg', 'rescale',
        'with_nms', 'mlvl_score_factors', 'kwargs']
    assert params(RPNHead._get_bboxes_single) == params(BaseDenseHead._get_bboxes_single)
    assert RPNHead._bbox_post_process is BaseDenseHead._bbox_post_process


@pytest.mark.parametrize('alias, new_name', [('num_anchors', 'num_base_priors'),
                                             ('anchor_generator', 'prior_generator')])
def test_deprecated_aliases_warn_naming_the_new_attribute(alias, new_name):
    head = build_head(retina_cfg())
    with pytest.warns(UserWarning, match=f'DeprecationWarning: .*{alias}.*{new_name}'):
        value = getattr(head, alias)
    new_value = getattr(head, new_name)
    assert value is new_value or value == new_value


def test_init_weights_zeroes_deformable_offsets():
    class _Offsets(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv_offset = nn.Conv2d(8, 18, 3, padding=1)

    cfg = retina_cfg()
    cfg.pop('type')
    head = AnchorHead(num_classes=3, in_channels=8,
                      init_cfg=dict(type='Normal', layer='Conv2d', std=0.5, bias=0.5),
                      **{k: cfg[k] for k in ('anchor_generator', 'loss_cls', 'loss_bbox')})
    head.dcn = _Offsets()
    head.init_weights()
    assert head.dcn.conv_offset.weight.abs().sum() == 0
    assert head.dcn.conv_offset.bias.abs().sum() == 0
    assert head.conv_cls.bias.eq(0.5).all()
