"""The ``ResLayer`` shared head is ResNet's stage ``stage`` under the same names: it loads that
stage from a ResNet checkpoint and computes what the backbone's stage computes."""
import pytest
import torch
from torch import nn

from mmdet_lite.models import build_backbone, build_shared_head

pytestmark = pytest.mark.usefixtures('one_thread')


def test_res_layer_shared_head_is_resnet_stage4(tmp_path):
    torch.manual_seed(0)
    backbone = build_backbone(dict(type='ResNet', depth=50, style='caffe'))
    backbone.init_weights()
    for m in backbone.modules():  # non-trivial statistics
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
    path = str(tmp_path / 'r50.pth')
    torch.save(backbone.state_dict(), path)
    head = build_shared_head(dict(type='ResLayer', depth=50, stage=3, stride=2, style='caffe',
                                  init_cfg=dict(type='Pretrained', checkpoint=path)))
    assert set(head.state_dict()) == {k for k in backbone.state_dict() if k.startswith('layer4.')}
    head.init_weights()
    head.train()
    assert not any(m.training for m in head.modules() if isinstance(m, nn.BatchNorm2d))
    backbone.eval()
    rois = torch.randn(3, 1024, 7, 7)
    with torch.no_grad():
        torch.testing.assert_close(head(rois), backbone.layer4(rois))
    assert head(rois).shape == (3, 2048, 4, 4)
