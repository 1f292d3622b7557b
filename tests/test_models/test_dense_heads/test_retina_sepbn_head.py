"""RetinaSepBNHead: convs shared across levels, BN per level; ``simple_test`` of a tiny RetinaNet
with it against mmdetection 2.28 (fixture tests/data/mmdet2_detectors/retina_sepbn.npz, written
by generate_dense.py there in the oracle venv from retina_sepbn.py beside it; boxes within
0.01 px, scores within 1e-4), and its loss on an image without objects.
"""
import numpy as np
import pytest
import torch
from mmengine.config import Config

from mmdet_lite.models import build_detector, build_head
from mmdet_lite.models.dense_heads import RetinaSepBNHead

from .. import mmdet2_detector_parity as P
from ._helpers import feats_for, make_metas, retina_cfg

# Tiny models: one torch thread (tests/conftest.py) avoids oversubscribing shared CPUs.
pytestmark = pytest.mark.usefixtures('one_thread')

STRIDES = [8, 16, 32, 64, 128]


def _head() -> RetinaSepBNHead:
    torch.manual_seed(0)
    cfg = retina_cfg()
    cfg.update(type='RetinaSepBNHead', num_ins=5, norm_cfg=dict(type='BN'))
    head = build_head(cfg)
    head.init_weights()
    return head


def test_convs_shared_and_norms_separate_across_levels():
    head = _head()
    for i in range(head.stacked_convs):
        for level in range(1, head.num_ins):
            assert head.cls_convs[level][i].conv is head.cls_convs[0][i].conv
            assert head.reg_convs[level][i].conv is head.reg_convs[0][i].conv
            assert head.cls_convs[level][i].norm is not head.cls_convs[0][i].norm
    # 2.x's keys: the shared conv is listed once per level
    assert {'cls_convs.4.1.conv.weight', 'cls_convs.4.1.bn.running_mean',
            'reg_convs.0.0.bn.weight'} <= set(head.state_dict())
    torch.testing.assert_close(torch.sigmoid(head.retina_cls.bias),
                               torch.full((27,), 0.01), rtol=1e-4, atol=1e-6)


def test_empty_gt_gives_finite_cls_loss_and_zero_box_loss():
    head = _head()
    # two images: training-mode BN needs more than one value per channel on the 1x1 level
    cls_scores, bbox_preds = head(feats_for((64, 96), STRIDES, batch=2))
    losses = head.loss(cls_scores, bbox_preds, [torch.zeros(0, 4)] * 2,
                       [torch.zeros(0, dtype=torch.long)] * 2, make_metas(num_imgs=2))
    loss_cls, loss_bbox = sum(losses['loss_cls']), sum(losses['loss_bbox'])
    assert torch.isfinite(loss_cls) and loss_cls.item() > 0
    assert loss_bbox.item() == 0


def test_init_cfg_is_refused():
    cfg = retina_cfg()
    cfg.update(type='RetinaSepBNHead', num_ins=5, init_cfg=dict(type='Normal', std=0.01))
    with pytest.raises(ValueError, match='init_cfg'):
        build_head(cfg)


def test_simple_test_equals_mmdet2():
    fixture = P.load_fixture('retina_sepbn')
    model = build_detector(Config.fromfile(P.config_path('retina_sepbn')).model)
    # P.check_weights compares the seeded weights before loading; here the shared convs take
    # the value of the last level loaded (as in 2.28), so compare the state dict after loading:
    # equal checksums prove equal names, shapes, sharing and load order.
    model.load_state_dict(P.fixture_weights(model), strict=True)
    state = model.state_dict()
    assert list(state) == list(fixture['checksums'])
    for name, value in state.items():
        np.testing.assert_allclose(P.checksum(value), fixture['checksums'][name], rtol=1e-6,
                                   atol=1e-6, err_msg=f'{name}: differs from 2.28 after loading')
    img = P.seeded_image()
    torch.testing.assert_close(P.checksum(img), fixture['img_checksum'], check_dtype=False)
    model.eval()
    with torch.no_grad():
        result = model.simple_test(img, [P.img_meta()], rescale=True)[0]
    figures = P.compare_results(result, fixture)
    assert figures['num_dets'] > 0, 'the fixture has no detection to compare'
    assert figures['box_diff'] <= 0.01, figures
    assert figures['score_diff'] <= 1e-4, figures
