"""Conv layers and plugins equal mmcv 1.7 / mmdetection 2.28's with the same weights: DCN and
DCNv2 (non-zero offsets from seeded ``conv_offset`` weights, groups, deformable groups, stride,
dilation), SAC with and without deformable branches, ConvWS/ConvAWS, ContextBlock,
GeneralizedAttention, NonLocal2d, and deformable RoI pooling against a scalar transcription of
mmcv's kernel (fixtures written by 2.28, see
tests/test_models/mmdet2_parity.py)."""
import json

import numpy as np
import pytest
import torch

from mmdet_lite.models.layers import build_conv_layer, build_plugin_layer
from mmdet_lite.models.layers.deform_roi_pool import DeformRoIPoolPack, ModulatedDeformRoIPoolPack

from ..mmdet2_parity import (FIXTURE_DIR, assert_outputs_close, load_fixture,
                             load_seeded_weights)

CASES = ['dcn_layer', 'dcnv2_layer', 'dcnv2_layer_stride2', 'sac_layer', 'sac_deform_layer',
         'conv_ws_layer', 'conv_aws_layer', 'context_block', 'gen_attention_1111',
         'nonlocal_block', 'deform_roi_pool_pack', 'mdeform_roi_pool_pack']


@pytest.mark.parametrize('case', CASES)
def test_layer_forward_equals_mmcv17(case, one_thread):
    cfg, inputs, expected, sums = load_fixture(case)
    call = json.loads(str(np.load(f'{FIXTURE_DIR}/{case}.npz')['layer_call']))
    if call['kind'] == 'conv':
        layer = build_conv_layer(cfg, *call['args'], **call['kwargs'])
    elif call['kind'] == 'plugin':
        layer = build_plugin_layer(cfg, **call['kwargs'])[1]
    else:
        roi_layers = dict(DeformRoIPoolPack=DeformRoIPoolPack,
                          ModulatedDeformRoIPoolPack=ModulatedDeformRoIPoolPack)
        layer = roi_layers[cfg.pop('type')](**cfg)
    load_seeded_weights(layer, sums)
    layer.eval()
    with torch.no_grad():
        out = layer(*inputs)
    assert_outputs_close([out], expected)
