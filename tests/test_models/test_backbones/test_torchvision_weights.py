"""torchvision's ImageNet ResNeXt state dicts load into ``ResNeXt`` as they are, and its RegNetX
ones (800MF, 1.6GF, 3.2GF, 8GF; not 400MF, whose last stage is 400 wide there and 384 in pycls)
into ``RegNet`` through ``convert_regnet_state_dict`` (same outputs on the same input); pycls
names convert too."""
import pytest
import torch
import torchvision

from mmdet_lite.convert.regnet_convert import convert_regnet_state_dict
from mmdet_lite.models import build_backbone

from ...test_tools.tool_loader import load_tool

pytestmark = pytest.mark.usefixtures('one_thread')


def test_torchvision_resnext_state_dict_loads_unchanged():
    with torch.device('meta'):
        tv = torchvision.models.resnext101_32x8d()
        ours = build_backbone(dict(type='ResNeXt', depth=101, groups=32, base_width=8))
    tv_shapes = {k: v.shape for k, v in tv.state_dict().items() if not k.startswith('fc.')}
    assert tv_shapes == {k: v.shape for k, v in ours.state_dict().items()}


def test_torchvision_regnet_converts_and_computes_the_same():
    torch.manual_seed(0)
    tv = torchvision.models.regnet_x_800mf().eval()
    ours = build_backbone(dict(type='RegNet', arch='regnetx_800mf', out_indices=(3, ))).eval()
    ours.load_state_dict(convert_regnet_state_dict(tv.state_dict()), strict=True)
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        expected = tv.trunk_output(tv.stem(x))
        torch.testing.assert_close(ours(x)[0], expected)


def test_pycls_names_convert():
    w = torch.zeros(1)
    pycls = {'stem.conv.weight': w, 'stem.bn.running_mean': w, 's1.b1.proj.weight': w,
             's1.b1.bn.bias': w, 's2.b3.f.b.weight': w, 's2.b3.f.c_bn.weight': w,
             'head.fc.weight': w}
    assert list(convert_regnet_state_dict(pycls)) == [
        'conv1.weight', 'bn1.running_mean', 'layer1.0.downsample.0.weight',
        'layer1.0.downsample.1.bias', 'layer2.2.conv2.weight', 'layer2.2.bn3.weight']
    with pytest.raises(KeyError, match='RegNetX checkpoint'):
        convert_regnet_state_dict({'layer1.0.conv1.weight': w})


def test_regnet2mmdet_tool_writes_a_loadable_checkpoint(tmp_path):
    torch.manual_seed(0)
    tv = torchvision.models.regnet_x_800mf()
    torch.save(tv.state_dict(), tmp_path / 'tv.pth')
    dst = load_tool('tools/model_converters/regnet2mmdet.py').main(
        [str(tmp_path / 'tv.pth'), str(tmp_path / 'regnetx_800mf.pth')])
    model = build_backbone(dict(type='RegNet', arch='regnetx_800mf',
                                init_cfg=dict(type='Pretrained', checkpoint=dst)))
    model.init_weights()
    torch.testing.assert_close(model.layer3[2].conv2.weight,
                               tv.trunk_output.block3[2].f.b[0].weight)
