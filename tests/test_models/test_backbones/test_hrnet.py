import pytest
import torch
from torch.nn.modules.batchnorm import _BatchNorm

from mmdet_lite.models import build_backbone
from mmdet_lite.models.backbones import HRNet

from ..mmdet2_parity import assert_outputs_close, load_fixture, load_seeded_weights

pytestmark = pytest.mark.usefixtures('one_thread')


def tiny_extra(block1='BOTTLENECK'):
    return dict(
        stage1=dict(num_modules=1, num_branches=1, block=block1, num_blocks=(1,),
                    num_channels=(4,)),
        stage2=dict(num_modules=1, num_branches=2, block='BASIC', num_blocks=(1, 1),
                    num_channels=(2, 4)),
        stage3=dict(num_modules=2, num_branches=3, block='BASIC', num_blocks=(1, 1, 1),
                    num_channels=(2, 4, 8)),
        stage4=dict(num_modules=1, num_branches=4, block='BASIC', num_blocks=(1, 1, 1, 1),
                    num_channels=(2, 4, 8, 16)))


def test_hrnet_forward_equals_mmdet228():
    cfg, inputs, expected, sums = load_fixture('hrnet')
    model = build_backbone(cfg)
    load_seeded_weights(model, sums)
    model.eval()
    with torch.no_grad():
        outs = model(inputs[0])
    assert_outputs_close(outs, expected)


def test_hrnet_shapes_and_single_scale_output():
    model = HRNet(tiny_extra())
    model.init_weights()
    outs = model(torch.randn(2, 3, 64, 32))
    assert [tuple(o.shape) for o in outs] == [(2, 2, 16, 8), (2, 4, 8, 4), (2, 8, 4, 2),
                                              (2, 16, 2, 1)]
    single = HRNet(tiny_extra(), multiscale_output=False)
    assert len(single.stage4[-1].fuse_layers) == 1
    assert [tuple(o.shape) for o in single(torch.randn(1, 3, 64, 64))] == [(1, 2, 16, 16)]


def test_hrnet_norm_eval_and_zero_init_residual():
    model = HRNet(tiny_extra(), zero_init_residual=True)
    model.init_weights()
    assert torch.all(model.layer1[0].norm3.weight == 0)
    assert torch.all(model.stage2[0].branches[0][0].norm2.weight == 0)
    assert model.conv1.weight.std() > 0
    model.train()
    assert all(not m.training for m in model.modules() if isinstance(m, _BatchNorm))
    model = HRNet(tiny_extra(), norm_eval=False).train()
    assert all(m.training for m in model.modules() if isinstance(m, _BatchNorm))


def test_hrnet_pretrained_from_local_file(tmp_path):
    src = HRNet(tiny_extra())
    src.init_weights()
    path = tmp_path / 'hrnet.pth'
    torch.save({'state_dict': {f'backbone.{k}': v for k, v in src.state_dict().items()}}, path)
    model = HRNet(tiny_extra(), init_cfg=dict(type='Pretrained', checkpoint=str(path),
                                              prefix='backbone.'))
    model.init_weights()
    for k, v in src.state_dict().items():
        assert torch.equal(model.state_dict()[k], v), k
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        HRNet(tiny_extra(), pretrained=str(tmp_path / 'missing.pth')).init_weights()


def test_hrnet_config_errors_name_the_key():
    extra = tiny_extra()
    del extra['stage4']
    with pytest.raises(KeyError, match='stage4'):
        HRNet(extra)
    extra = tiny_extra()
    extra['stage3']['num_channels'] = (2, 4)
    with pytest.raises(ValueError, match='stage3'):
        HRNet(extra)
    with pytest.raises(KeyError, match='BASIK'):
        HRNet(tiny_extra(block1='BASIK'))
