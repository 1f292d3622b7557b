import pytest
import torch

from mmdet_lite.models.necks import RFP
from mmdet_lite.models.necks.rfp import ASPP


def test_aspp_branches():
    aspp = ASPP(4, 2, dilations=(1, 2, 1))
    assert [c.kernel_size for c in aspp.aspp] == [(1, 1), (3, 3), (1, 1)]
    assert aspp(torch.randn(1, 4, 5, 6)).shape == (1, 6, 5, 6)
    with pytest.raises(ValueError, match='dilation 1'):
        ASPP(4, 2, dilations=(1, 3))


def test_rfp_feedback_pass(one_thread):
    neck = RFP(rfp_steps=2, aspp_out_channels=2, in_channels=[16, 32, 64, 128], out_channels=8,
               num_outs=5, rfp_backbone=dict(type='DetectoRS_ResNet', depth=50, base_channels=4,
                                             rfp_inplanes=8, out_indices=(0, 1, 2, 3)))
    neck.init_weights()
    neck.eval()  # BN on the 1x1 level cannot train on one image
    assert torch.all(neck.rfp_weight.weight == 0)  # starts as an equal blend
    img = torch.randn(1, 3, 32, 32)
    feats = [torch.randn(1, 16 * 2**i, 8 // 2**i, 8 // 2**i) for i in range(4)]
    outs = neck([img] + feats)
    assert [tuple(o.shape[2:]) for o in outs] == [(8, 8), (4, 4), (2, 2), (1, 1), (1, 1)]
    with pytest.raises(ValueError, match='output_img=True'):
        neck(feats)
