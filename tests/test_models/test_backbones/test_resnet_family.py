"""ResNet's dcn/plugins/deep_stem arguments and the variants (ResNeXt, RegNet, Res2Net, ResNeSt,
DetectoRS, TridentNet): structure, initialisation, freezing, errors, and the configs that use
them (numerics against mmdetection 2.28 are in test_resnet_family_parity.py)."""
import copy
import math

import pytest
import torch
from mmengine.config import Config
from torch import nn

from mmdet_lite.models import build_backbone, build_detector
from mmdet_lite.models.backbones.regnet import RegNet
from mmdet_lite.models.layers import DeformConv2dPack, ModulatedDeformConv2dPack, SAConv2d
from mmdet_lite.models.backbones.resnet import BasicBlock, Bottleneck
from mmdet_lite.models.utils import ResLayer

# single intra-op thread: on a loaded 2-core box threads make these tiny ops much slower
pytestmark = pytest.mark.usefixtures('one_thread')

DCN = dict(type='DCN', deform_groups=1, fallback_on_stride=False)
GCB = dict(cfg=dict(type='ContextBlock', ratio=1. / 4), stages=(False, True, True, True),
           position='after_conv3')


def test_dcn_goes_into_the_flagged_stages_and_starts_at_zero_offsets():
    model = build_backbone(dict(type='ResNet', depth=50, base_channels=8, dcn=DCN,
                                stage_with_dcn=(False, True, False, True)))
    assert type(model.layer1[0].conv2) is nn.Conv2d and type(model.layer3[0].conv2) is nn.Conv2d
    assert all(isinstance(b.conv2, DeformConv2dPack) for b in model.layer2)
    assert all(isinstance(b.conv2, DeformConv2dPack) for b in model.layer4)
    model.init_weights()  # the generic Kaiming init must not randomise the offset convs
    assert not any(b.conv2.conv_offset.weight.any() for b in model.layer2)
    fallback = build_backbone(dict(type='ResNet', depth=50, base_channels=8,
                                   dcn=dict(DCN, fallback_on_stride=True),
                                   stage_with_dcn=(False, True, True, True)))
    assert type(fallback.layer2[0].conv2) is nn.Conv2d


def test_dcn_errors_name_the_fix():
    with pytest.raises(ValueError, match='conv_cfg must be None'):
        build_backbone(dict(type='ResNet', depth=50, base_channels=8, dcn=DCN,
                            conv_cfg=dict(type='ConvWS'),
                            stage_with_dcn=(False, True, True, True)))
    with pytest.raises(ValueError, match='one flag per stage'):
        build_backbone(dict(type='ResNet', depth=50, base_channels=8, dcn=DCN,
                            stage_with_dcn=(False, True)))
    with pytest.raises(NotImplementedError, match='depth 50/101/152'):
        build_backbone(dict(type='ResNet', depth=18, base_channels=8, dcn=DCN,
                            stage_with_dcn=(False, True, True, True)))


def test_plugins_positions_stages_and_postfix():
    plugins = [GCB,
               dict(cfg=dict(type='GeneralizedAttention', spatial_range=-1, num_heads=2,
                             attention_type='0010', kv_stride=2),
                    stages=(False, False, True, True), position='after_conv2'),
               dict(cfg=dict(type='NonLocal2d', reduction=2, postfix=1), position='after_conv1'),
               dict(cfg=dict(type='NonLocal2d', reduction=2, postfix=2), position='after_conv1')]
    model = build_backbone(dict(type='ResNet', depth=50, base_channels=8, plugins=plugins))
    b1, b3 = model.layer1[0], model.layer3[1]
    assert b1.after_conv1_plugin_names == ['nonlocal_block1', 'nonlocal_block2']
    assert b1.after_conv2_plugin_names == [] and b1.after_conv3_plugin_names == []
    assert b3.after_conv2_plugin_names == ['gen_attention_block']
    assert b3.after_conv3_plugin_names == ['context_block']
    assert b3.context_block.channel_add_conv[0].in_channels == 128  # after conv3: planes * 4
    model.init_weights()  # ContextBlock starts as the identity (last conv zero)
    assert not b3.context_block.channel_add_conv[-1].weight.any()
    model.eval()
    assert model(torch.randn(1, 3, 32, 32))[-1].shape == (1, 256, 1, 1)
    with pytest.raises(ValueError, match='postfix'):
        build_backbone(dict(type='ResNet', depth=50, base_channels=8, plugins=[GCB, GCB]))
    with pytest.raises(ValueError, match='after_conv4'):
        build_backbone(dict(type='ResNet', depth=50, base_channels=8,
                            plugins=[dict(GCB, position='after_conv4')]))


def test_deep_stem_avg_down_and_frozen_stem():
    model = build_backbone(dict(type='ResNetV1d', depth=50, stem_channels=16, base_channels=8,
                                frozen_stages=1))
    keys = model.state_dict()
    assert 'stem.0.weight' in keys and 'stem.7.weight' in keys and 'conv1.weight' not in keys
    # as 2.x, avg_down puts an AvgPool in every shortcut, also layer1's stride-1 one
    assert isinstance(model.layer1[0].downsample[0], nn.AvgPool2d)
    assert 'layer1.0.downsample.1.weight' in keys
    model.train()
    assert not model.stem.training and not any(p.requires_grad for p in model.stem.parameters())
    assert not model.layer1.training and model.layer2.training
    with pytest.raises(TypeError, match='deep_stem'):
        build_backbone(dict(type='ResNetV1d', depth=50, deep_stem=False))


def test_res_layer_downsample_last_for_hourglass():
    layer = ResLayer(BasicBlock, 8, 16, 3, stride=2, downsample_first=False)
    assert [b.downsample is None for b in layer] == [True, True, False]
    assert [b.conv1.in_channels for b in layer] == [8, 8, 8]
    assert layer(torch.randn(1, 8, 8, 8)).shape == (1, 16, 4, 4)


def test_resnext_widths_and_grouped_dcn():
    with torch.device('meta'):  # structure only
        model = build_backbone(dict(type='ResNeXt', depth=101, groups=32, base_width=4, dcn=DCN,
                                    stage_with_dcn=(False, True, True, True)))
    assert model.layer1[0].conv2.groups == 32 and model.layer1[0].conv2.in_channels == 128
    conv = model.layer4[0].conv2
    assert isinstance(conv, DeformConv2dPack) and conv.groups == 32 and conv.in_channels == 1024
    assert model.feat_dim == 2048


def test_regnet_arch_from_name_and_dict():
    model = RegNet('regnetx_3.2gf')
    assert model.stage_widths == [96, 192, 432, 1008] and model.stage_blocks == (2, 6, 15, 2)
    assert model.group_widths == [48] * 4 and model.depth == 25 and model.feat_dim == 1008
    assert model.layer2[0].conv2.groups == 192 // 48 and not hasattr(model, 'maxpool')
    same = RegNet(dict(RegNet.arch_settings['regnetx_3.2gf']))
    assert same.stage_widths == model.stage_widths
    model.eval()
    outs = model(torch.randn(1, 3, 32, 32))
    assert [tuple(o.shape) for o in outs] == [(1, 96, 8, 8), (1, 192, 4, 4), (1, 432, 2, 2),
                                              (1, 1008, 1, 1)]
    with pytest.raises(KeyError, match='regnetx_3.2gf'):
        RegNet('regnetx_3.3gf')
    with pytest.raises(ValueError, match='group_w'):
        RegNet(dict(w0=88, wa=26.31, wm=2.25, depth=25))


def test_res2net_and_resnest_blocks():
    res2 = build_backbone(dict(type='Res2Net', depth=50, base_channels=8, scales=4,
                               base_width=4, stem_channels=16))
    first, second = res2.layer2[0], res2.layer2[1]
    assert (first.stage_type, second.stage_type) == ('stage', 'normal')
    assert hasattr(first, 'pool') and not hasattr(second, 'pool') and not hasattr(first, 'conv2')
    assert len(first.convs) == 3 and first.conv1.out_channels == 4 * 4 * 2
    nest = build_backbone(dict(type='ResNeSt', depth=50, stem_channels=16, base_channels=8))
    block = nest.layer2[0]
    assert block.avg_down_stride and isinstance(block.avd_layer, nn.AvgPool2d)
    assert block.conv2.conv.groups == 2 and 'bn2' not in dict(block.named_children())
    for model in (res2, nest):
        model.eval()
        assert model(torch.randn(1, 3, 32, 32))[-1].shape == (1, 256, 1, 1)


def test_detectors_resnet_sac_rfp_and_init():
    model = build_backbone(dict(type='DetectoRS_ResNet', depth=50, base_channels=8,
                                conv_cfg=dict(type='ConvAWS'),
                                sac=dict(type='SAC', use_deform=True),
                                stage_with_sac=(False, True, True, True), rfp_inplanes=8,
                                output_img=True, strides=(1, 2, 1, 1)))
    assert isinstance(model.layer2[0].conv2, SAConv2d) and model.layer2[0].conv2.use_deform
    assert hasattr(model.layer2[0], 'rfp_conv') and not hasattr(model.layer2[1], 'rfp_conv')
    assert not hasattr(model.layer1[0], 'rfp_conv')
    model.init_weights()
    assert not model.layer2[0].rfp_conv.weight.any()  # RFP feedback starts at zero
    assert bool((model.layer2[0].conv2.switch.bias == 1).all())
    model.eval()
    x = torch.randn(1, 3, 32, 32)  # strides (1, 2, 1, 1): SAC's reflect padding needs maps >= 3
    outs = model(x)
    assert outs[0] is x and len(outs) == 5
    rfp = model.rfp_forward(x, [None] + [torch.randn(1, 8, 4, 4)] * 3)
    torch.testing.assert_close(rfp[0], outs[1])  # stage 1 takes no RFP input
    torch.testing.assert_close(rfp[-1], outs[-1])  # zero rfp_conv: same as forward


def test_trident_branches_in_training_and_test():
    model = build_backbone(dict(type='TridentResNet', depth=50, base_channels=8, num_branch=3,
                                test_branch_idx=1, trident_dilations=(1, 2, 3), num_stages=3,
                                strides=(1, 2, 2), dilations=(1, 1, 1), out_indices=(2, )))
    x = torch.randn(2, 3, 32, 32)
    model.train()
    assert model(x)[0].shape == (6, 128, 2, 2)
    model.eval()
    with torch.no_grad():
        assert model(x)[0].shape == (2, 128, 2, 2)
    with pytest.raises(ValueError, match='num_stages=3'):
        build_backbone(dict(type='TridentResNet', depth=50, num_branch=3, test_branch_idx=1,
                            trident_dilations=(1, 2, 3)))


def test_with_cp_keeps_output_and_grads_of_dcn_blocks():
    torch.manual_seed(0)
    cfg = dict(type='ResNeXt', depth=50, groups=2, base_width=4, base_channels=8,
               dcn=dict(type='DCNv2', deform_groups=1), stage_with_dcn=(False, False, False, True),
               plugins=[GCB], norm_eval=False)
    plain = build_backbone(cfg)
    ckpt = build_backbone(dict(cfg, with_cp=True))
    for p in plain.parameters():
        nn.init.normal_(p, std=0.1)
    ckpt.load_state_dict(plain.state_dict())
    plain.eval(), ckpt.eval()
    x1 = torch.randn(1, 3, 16, 16, requires_grad=True)
    x2 = x1.detach().clone().requires_grad_(True)
    out1, out2 = plain(x1)[-1], ckpt(x2)[-1]
    torch.testing.assert_close(out1, out2)
    out1.sum().backward()
    out2.sum().backward()
    torch.testing.assert_close(x1.grad, x2.grad)
    assert isinstance(ckpt.layer4[0].conv2, ModulatedDeformConv2dPack)


# (config, number of state-dict entries, number of values) of mmdetection 2.28's model
CONFIGS = [('configs/faster_rcnn_x101_32x4d_fpn_1x.py', 654, 60511688),
           ('configs/faster_rcnn_r50_fpn_dconv_c3-c5_1x.py', 374, 42387071),
           ('configs/mask_rcnn_regnetx-3.2GF_fpn_1x.py', 522, 34697824),
           ('configs/mask_rcnn_r50_fpn_gn-all_2x.py', 223, 45711152)]


@pytest.mark.parametrize('config,num_keys,num_values', CONFIGS)
def test_backbone_variant_configs_match_mmdet228(config, num_keys, num_values):
    root = __file__.rsplit('/tests/', 1)[0]
    model_cfg = copy.deepcopy(Config.fromfile(f'{root}/{config}').model)
    assert model_cfg.backbone.init_cfg['type'] == 'Pretrained'
    model_cfg.backbone.init_cfg = None
    with torch.device('meta'):  # shapes only: no memory, no init cost
        model = build_detector(model_cfg)
    state = model.state_dict()
    assert len(state) == num_keys
    assert sum(math.prod(v.shape) for v in state.values()) == num_values


def test_block_classes_keep_2x_names():
    block = Bottleneck(16, 4, dcn=DCN, plugins=[dict(GCB, stages=None)])
    assert [n for n, _ in block.named_children()][:6] == ['conv1', 'bn1', 'conv2', 'bn2',
                                                          'conv3', 'bn3']


def test_imagenet_checkpoint_loads_into_dcn_plugin_sac_backbones(tmp_path):
    """An ImageNet ResNet checkpoint lacks the added layers' keys: they keep their init (DCN
    offsets zero, ContextBlock identity, SAC switch 1), AWS statistics are computed from the
    loaded weights (as mmcv's ConvAWS2d), and a missing ResNet key still fails."""
    plain = build_backbone(dict(type='ResNet', depth=50, base_channels=8))
    plain.init_weights()
    path = str(tmp_path / 'r50.pth')
    torch.save(plain.state_dict(), path)
    model = build_backbone(dict(type='ResNet', depth=50, base_channels=8, dcn=DCN,
                                stage_with_dcn=(False, True, True, True), plugins=[GCB],
                                init_cfg=dict(type='Pretrained', checkpoint=path)))
    model.init_weights()
    torch.testing.assert_close(model.layer2[0].conv2.weight, plain.layer2[0].conv2.weight)
    assert not model.layer2[0].conv2.conv_offset.weight.any()
    assert not model.layer2[0].context_block.channel_add_conv[-1].weight.any()
    detectors = build_backbone(dict(type='DetectoRS_ResNet', depth=50, base_channels=8,
                                    conv_cfg=dict(type='ConvAWS'),
                                    sac=dict(type='SAC', use_deform=True),
                                    stage_with_sac=(False, True, True, True), rfp_inplanes=8,
                                    init_cfg=dict(type='Pretrained', checkpoint=path)))
    detectors.init_weights()
    sac, w = detectors.layer2[0].conv2, plain.layer2[0].conv2.weight.flatten(1)
    torch.testing.assert_close(sac.weight_beta.flatten(), w.mean(1))
    torch.testing.assert_close(sac.weight_gamma.flatten(), torch.sqrt(w.var(1) + 1e-5))
    assert bool((sac.switch.bias == 1).all()) and not detectors.layer2[0].rfp_conv.weight.any()
    state = plain.state_dict()
    state.pop('layer1.0.conv1.weight')
    torch.save(state, path)
    with pytest.raises(KeyError, match='layer1.0.conv1.weight'):
        model.load_pretrained(path)
