import pytest
import torch
from torch.nn.modules.batchnorm import _BatchNorm

from mmdet_lite.models.backbones import CSPDarknet
from mmdet_lite.models.utils import CSPLayer

pytestmark = pytest.mark.usefixtures('one_thread')


@pytest.mark.parametrize('arch,sizes', [('P5', (8, 16, 32, 64, 128)),
                                        ('P6', (8, 16, 32, 64, 96, 128))])
def test_csp_darknet_arch_shapes(arch, sizes):
    model = CSPDarknet(arch=arch, deepen_factor=0.33, widen_factor=0.125,
                       out_indices=range(len(sizes)))
    model.init_weights()
    outs = model(torch.randn(2, 3, 64, 64))
    assert [tuple(o.shape) for o in outs] == [
        (2, c, 64 // 2**(i + 1), 64 // 2**(i + 1)) for i, c in enumerate(sizes)]
    assert len(model.stage2[1].blocks) == 3  # round(9 * 0.33)


def test_csp_darknet_frozen_stages_norm_eval_and_errors():
    model = CSPDarknet(deepen_factor=0.33, widen_factor=0.125, frozen_stages=1, norm_eval=True)
    model.train()
    assert not any(p.requires_grad for p in model.stem.parameters())
    assert not any(p.requires_grad for p in model.stage1.parameters())
    assert all(p.requires_grad for p in model.stage2.parameters())
    assert all(not m.training for m in model.modules() if isinstance(m, _BatchNorm))
    with pytest.raises(ValueError, match='frozen_stages'):
        CSPDarknet(frozen_stages=5)
    with pytest.raises(ValueError, match='out_indices'):
        CSPDarknet(out_indices=(5,))
    with pytest.raises(KeyError, match='P7'):
        CSPDarknet(arch='P7')


def test_csp_layer_identity_only_when_widths_match():
    layer = CSPLayer(8, 8, num_blocks=2)
    assert all(b.add_identity for b in layer.blocks)
    assert not any(b.add_identity for b in CSPLayer(8, 8, add_identity=False).blocks)
    assert layer(torch.randn(1, 8, 4, 4)).shape == (1, 8, 4, 4)
