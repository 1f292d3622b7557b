import pytest
import torch

from mmdet_lite.models.backbones import EfficientNet
from mmdet_lite.models.backbones.efficientnet import EdgeResidual, model_scaling

pytestmark = pytest.mark.usefixtures('one_thread')


def test_model_scaling_worked_case():
    table = [[[3, 32, 0, 2, 0, -1]],
             [[3, 16, 4, 1, 1, 0]],
             [[3, 24, 4, 2, 6, 0], [3, 40, 4, 1, 6, 0]],
             [[1, 1280, 0, 1, 0, -1]]]
    scaled = model_scaling(table, (1.0, 2.0))
    # widths unchanged (x1.0); stage 2 splits into runs of 24 and 40, each doubled; the run of
    # 40 starts with stride 1 and so merges back into stage 2; stage 1 is the first run
    assert [[b[1] for b in stage] for stage in scaled] == [[32], [16, 16], [24, 24, 40, 40],
                                                           [1280]]
    assert model_scaling(table, (0.5, 1.0))[2][0][1] == 16  # make_divisible(12, 8)


def test_efficientnet_builds_only_the_needed_layers_and_freezes():
    model = EfficientNet(arch='b0', out_indices=(2, 3), frozen_stages=2)
    assert len(model.layers) == 4
    model.train()
    assert not any(p.requires_grad for p in model.layers[1].parameters())
    assert all(p.requires_grad for p in model.layers[2].parameters())
    assert len(EfficientNet(arch='b0').layers) == 7
    edge = EfficientNet(arch='es', out_indices=(2,))
    assert isinstance(edge.layers[1][0], EdgeResidual)
    with pytest.raises(KeyError, match='b9'):
        EfficientNet(arch='b9')
    with pytest.raises(ValueError, match='out_indices'):
        EfficientNet(out_indices=(7,))


def test_efficientnet_pretrained_with_prefix_without_dot(tmp_path):
    src = EfficientNet(arch='b0', out_indices=(1,))
    path = tmp_path / 'cls.pth'
    torch.save({'state_dict': {f'backbone.{k}': v + 1 for k, v in src.state_dict().items()}},
               path)
    # mmcls checkpoints are loaded with prefix='backbone' in the 2.x config
    model = EfficientNet(arch='b0', out_indices=(1,), init_cfg=dict(
        type='Pretrained', prefix='backbone', checkpoint=str(path)))
    model.init_weights()
    torch.testing.assert_close(model.layers[0].conv.weight, src.layers[0].conv.weight + 1)
