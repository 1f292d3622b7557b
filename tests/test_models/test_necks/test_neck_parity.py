"""Each neck's forward equals mmdetection 2.28's with the same weights (fixtures written by
2.28 itself; see tests/test_models/mmdet2_parity.py)."""
import pytest
import torch

from mmdet_lite.models import build_neck

from ..mmdet2_parity import assert_outputs_close, load_fixture, load_seeded_weights

CASES = ['hrfpn', 'hrfpn_max_stride2', 'yolox_pafpn', 'yolox_pafpn_dw', 'yolov3_neck', 'pafpn',
         'pafpn_maxpool', 'channel_mapper', 'bfp_non_local', 'bfp_conv', 'ct_resnet_neck',
         'dilated_encoder', 'fpg', 'dyhead', 'ct_resnet_neck_dcn', 'fpn_carafe',
         'fpn_carafe_nearest', 'nas_fpn', 'nasfcos_fpn', 'nasfcos_fpn_extra', 'rfp']


@pytest.mark.parametrize('case', CASES)
def test_neck_forward_equals_mmdet228(case, one_thread):
    cfg, inputs, expected, sums = load_fixture(case)
    neck = build_neck(cfg)
    load_seeded_weights(neck, sums)
    neck.eval()
    with torch.no_grad():
        outs = neck(inputs)
    assert_outputs_close(outs, expected)
