"""The ResNet family's forward equals mmdetection 2.28's with the same weights: DCN/DCNv2,
plugins (ContextBlock, GeneralizedAttention, NonLocal2d, DropBlock), GN+WS, SyncBN, ResNetV1d,
ResNeXt, RegNet, Res2Net, ResNeSt, DetectoRS (SAC, RFP input) and TridentNet, each shrunk
(fixtures written by 2.28 itself, deformable conv through torchvision in the oracle; see
tests/test_models/mmdet2_parity.py)."""
import pytest
import torch

from mmdet_lite.models import build_backbone

from ..mmdet2_parity import assert_outputs_close, load_fixture, load_seeded_weights

CASES = ['resnet50_dcn', 'resnet50_mdconv_group2_caffe', 'resnet50_gcb_syncbn',
         'resnet50_attention_dcn', 'resnet50_nonlocal_dropblock', 'resnet50_gn_ws', 'resnetv1d50',
         'resnext50_dcn', 'regnet_tiny', 'regnetx_400mf', 'res2net50', 'resnest50',
         'resnest50_groups2_dcn', 'detectors_resnext50', 'trident_all_branches',
         'trident_branch1']


@pytest.mark.parametrize('case', CASES)
def test_resnet_family_forward_equals_mmdet228(case, one_thread):
    cfg, inputs, expected, sums = load_fixture(case)
    model = build_backbone(cfg)
    load_seeded_weights(model, sums)
    model.eval()
    with torch.no_grad():
        outs = model(inputs[0])
    assert_outputs_close(outs, expected)


def test_detectors_rfp_forward_equals_mmdet228(one_thread):
    """``rfp_forward`` adds the RFP features (``rfp_conv``) in the first block of stages 2-4."""
    cfg, inputs, expected, sums = load_fixture('detectors_resnet50_rfp')
    model = build_backbone(cfg)
    load_seeded_weights(model, sums)
    model.eval()
    with torch.no_grad():
        outs = model.rfp_forward(inputs[0], [None] + inputs[1:])
        plain = model(inputs[0])
    # 2.28's outputs reach 1e9 with these seeded SAC switches: compare relative to their scale
    scale = max(e.abs().max().item() for e in expected)
    assert_outputs_close([o / scale for o in outs], [e / scale for e in expected])
    assert torch.equal(plain[0], inputs[0])  # output_img=True puts the image first
    assert not torch.allclose(plain[-1], outs[-1])  # the RFP features changed the result
