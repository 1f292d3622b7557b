"""torchvision's MobileNetV2 and Swin (v1) weights, converted, give torchvision's features."""
import pytest
import torch
import torchvision
from torchvision.models.swin_transformer import SwinTransformer as TvSwin

from mmdet_lite.convert.torchvision_backbones import (convert_mobilenet_v2_state_dict,
                                                      convert_swin_state_dict)
from mmdet_lite.models import build_backbone

from ...test_tools.tool_loader import load_tool

pytestmark = pytest.mark.usefixtures('one_thread')


def randomize_bn(model):
    torch.manual_seed(0)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.1, 0.1)


@pytest.mark.parametrize('width', [1.0, 0.5])
def test_torchvision_mobilenet_v2_converts_and_computes_the_same(width):
    tv = torchvision.models.mobilenet_v2(width_mult=width).eval()
    randomize_bn(tv)
    ours = build_backbone(dict(type='MobileNetV2', widen_factor=width, out_indices=(7,))).eval()
    ours.load_state_dict(convert_mobilenet_v2_state_dict(tv.state_dict()), strict=True)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(ours(x)[0], tv.features(x))


def test_torchvision_swin_converts_and_computes_the_same(tmp_path):
    torch.manual_seed(0)
    # a small Swin v1 of torchvision's class; swin_t/s/b differ only in sizes
    tv = TvSwin(patch_size=[4, 4], embed_dim=8, depths=[2, 2, 2, 2], num_heads=[1, 2, 2, 4],
                window_size=[4, 4], stochastic_depth_prob=0.0).eval()
    for p in tv.parameters():  # zero-initialised tables and biases would hide mistakes
        p.data.add_(torch.randn_like(p) * 0.02)
    src = tmp_path / 'swin_tv.pth'
    torch.save(tv.state_dict(), src)
    dst = load_tool('tools/model_converters/torchvision_backbone2mmdet.py').main(
        ['swin', str(src), str(tmp_path / 'swin_mmdet.pth')])
    ours = build_backbone(dict(
        type='SwinTransformer', embed_dims=8, depths=(2, 2, 2, 2), num_heads=(1, 2, 2, 4),
        window_size=4, out_indices=(3,), drop_path_rate=0.0, convert_weights=True,
        init_cfg=dict(type='Pretrained', checkpoint=dst)))
    ours.init_weights()
    ours.eval()
    ours.norm3.load_state_dict(tv.norm.state_dict())  # 2.x loads no output norm
    x = torch.randn(1, 3, 160, 160)  # every stage's map (40, 20, 10, 5) exceeds the window
    with torch.no_grad():
        want = tv.norm(tv.features(x)).permute(0, 3, 1, 2)
        torch.testing.assert_close(ours(x)[0], want, atol=1e-5, rtol=1e-5)
    assert set(convert_swin_state_dict(tv.state_dict())) >= {
        'patch_embed.proj.weight', 'layers.3.blocks.1.mlp.fc2.bias',
        'layers.2.downsample.norm.bias'}
