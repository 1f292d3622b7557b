"""NormedLinear / NormedConv2d (scaled cosine similarities) against worked values, and the
predictor configs of box and mask heads that use them (Seesaw-loss configs)."""
import pytest
import torch

from mmdet_lite.models.builder import build_head
from mmdet_lite.models.layers import NormedConv2d, NormedLinear, build_linear_layer


def test_normed_linear_is_a_scaled_cosine_similarity():
    layer = NormedLinear(2, 2, tempearture=10, eps=0.)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[3., 4.], [0., 2.]]))
        layer.bias.zero_()
    x = torch.tensor([[6., 8.], [1., 0.]])
    # cos of [[0.6, 0.8] . [0.6, 0.8], [0.6, 0.8] . [0, 1]], [[1, 0] . [0.6, 0.8], [1, 0] . [0, 1]]
    torch.testing.assert_close(layer(x), 10 * torch.tensor([[1., 0.8], [0.6, 0.]]))
    fresh = NormedLinear(64, 64)  # 2.x's init: normal with std 0.01, zero bias
    assert 0.005 < fresh.weight.std().item() < 0.02 and not fresh.bias.any()


def test_normed_conv2d_normalises_channels():
    conv = NormedConv2d(2, 1, 1, bias=False, tempearture=5, eps=0.)
    with torch.no_grad():
        conv.weight.copy_(torch.tensor([3., 4.]).view(1, 2, 1, 1))
    x = torch.tensor([0., 2.]).view(1, 2, 1, 1)
    torch.testing.assert_close(conv(x), torch.full((1, 1, 1, 1), 5 * 0.8))
    over_kernel = NormedConv2d(2, 1, 1, bias=False, norm_over_kernel=True, tempearture=5, eps=0.)
    with torch.no_grad():
        over_kernel.weight.copy_(conv.weight)
    torch.testing.assert_close(over_kernel(x), conv(x))


def test_heads_build_their_predictors_from_the_configs():
    assert type(build_linear_layer(None, 3, 2)) is torch.nn.Linear
    with pytest.raises(KeyError, match='NoSuchLinear'):
        build_linear_layer(dict(type='NoSuchLinear'), 3, 2)
    head = build_head(dict(type='Shared2FCBBoxHead', in_channels=4, fc_out_channels=8,
                           roi_feat_size=2, num_classes=3,
                           cls_predictor_cfg=dict(type='NormedLinear', tempearture=20),
                           loss_cls=dict(type='SeesawLoss', num_classes=3)))
    # Seesaw asks for C + 2 outputs (objectness and classes)
    assert isinstance(head.fc_cls, NormedLinear) and head.fc_cls.out_features == 5
    assert type(head.fc_reg) is torch.nn.Linear and head.fc_reg.out_features == 12
    mask_head = build_head(dict(type='FCNMaskHead', num_convs=1, in_channels=4,
                                conv_out_channels=4, num_classes=3,
                                predictor_cfg=dict(type='NormedConv2d', tempearture=20)))
    assert isinstance(mask_head.conv_logits, NormedConv2d)
    assert mask_head(torch.randn(2, 4, 14, 14)).shape == (2, 3, 28, 28)
