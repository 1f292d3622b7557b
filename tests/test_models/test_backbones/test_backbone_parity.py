"""Each backbone's forward equals mmdetection 2.28's with the same weights (fixtures written by
2.28 itself; see tests/test_models/mmdet2_parity.py)."""
import pytest
import torch

from mmdet_lite.models import BACKBONES, build_backbone

from ..mmdet2_parity import (assert_outputs_close, fixture_arch_patch, load_fixture,
                             load_seeded_weights)

CASES = ['swin', 'swin_abs_pos', 'pvt', 'pvtv2', 'csp_darknet', 'csp_darknet_dw', 'darknet',
         'mobilenet_v2', 'hourglass', 'efficientnet', 'efficientnet_edge']


@pytest.mark.parametrize('case', CASES)
def test_backbone_forward_equals_mmdet228(case, one_thread, monkeypatch):
    cfg, inputs, expected, sums = load_fixture(case)
    patch = fixture_arch_patch(case)
    if patch is not None:
        type_name, key, value = patch
        monkeypatch.setitem(BACKBONES.get(type_name).arch_settings, key, value)
    model = build_backbone(cfg)
    load_seeded_weights(model, sums)
    model.eval()
    with torch.no_grad():
        outs = model(inputs[0])
    assert_outputs_close(outs, expected)
