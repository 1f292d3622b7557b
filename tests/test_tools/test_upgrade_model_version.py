"""upgrade_model_version on hand-made 1.x / 0.5 checkpoints; their config text never runs."""
import torch

from mmdet_lite.checkpoint import load_checkpoint_safely
from mmdet_lite.convert.model_version import UNKNOWN, literal_config

from .tool_loader import load_tool

C = 5  # old num_classes, background first


def _rows(n, width=3):
    return torch.arange(n * width, dtype=torch.float32).reshape(n, width)


def test_faster_rcnn_1x_to_2x(tmp_path):
    config = ("norm = dict(type='BN')\nmodel = dict(type='MaskRCNN', backbone=dict(norm_cfg=norm),"
              " rpn_head=dict(type='RPNHead'), bbox_head=dict(type='SharedFCBBoxHead', "
              "num_classes=5, reg_class_agnostic=False))\n")
    state = {'backbone.conv1.weight': torch.ones(2, 3, 1, 1),
             'rpn_head.rpn_cls.weight': _rows(3), 'rpn_head.rpn_cls.bias': torch.arange(3.),
             'bbox_head.fc_cls.weight': _rows(C), 'bbox_head.fc_cls.bias': torch.arange(5.),
             'bbox_head.fc_reg.weight': _rows(4 * C), 'bbox_head.fc_reg.bias': torch.arange(20.),
             'mask_head.conv_logits.weight': _rows(C),
             'mask_head.conv_logits.bias': torch.arange(5.)}
    src, dst = tmp_path / 'old.pth', tmp_path / 'new.pth'
    torch.save(dict(state_dict=state, meta=dict(config=config, mmdet_version='1.0rc0+abc')), src)
    load_tool('tools/model_converters/upgrade_model_version.py').main(
        [str(src), str(dst), '--num-classes', '5'])
    new = load_checkpoint_safely(str(dst))
    sd = new['state_dict']
    assert set(sd) == {'backbone.conv1.weight', 'rpn_head.rpn_cls.weight', 'rpn_head.rpn_cls.bias',
                       'roi_head.bbox_head.fc_cls.weight', 'roi_head.bbox_head.fc_cls.bias',
                       'roi_head.bbox_head.fc_reg.weight', 'roi_head.bbox_head.fc_reg.bias',
                       'roi_head.mask_head.conv_logits.weight',
                       'roi_head.mask_head.conv_logits.bias'}
    assert new['meta']['mmdet_version'] == '1.0rc0+abc'
    # background (row 0) moves last; its deltas and mask are dropped, weights and biases alike
    assert sd['roi_head.bbox_head.fc_cls.bias'].tolist() == [1, 2, 3, 4, 0]
    assert torch.equal(sd['roi_head.bbox_head.fc_cls.weight'], _rows(C)[[1, 2, 3, 4, 0]])
    assert torch.equal(sd['roi_head.bbox_head.fc_reg.weight'], _rows(4 * C)[4:])
    assert sd['roi_head.bbox_head.fc_reg.bias'].tolist() == list(range(4, 20))
    assert sd['roi_head.mask_head.conv_logits.bias'].tolist() == [1, 2, 3, 4]
    # a sigmoid RPN (3 anchors, no background) is left alone
    assert torch.equal(sd['rpn_head.rpn_cls.weight'], _rows(3))
    assert sd['rpn_head.rpn_cls.bias'].tolist() == [0, 1, 2]


def test_retinanet_0_5_convs_and_anchor_groups(tmp_path):
    config = "model = dict(type='RetinaNet', bbox_head=dict(type='RetinaHead'))"
    state = {'bbox_head.cls_convs.0.weight': torch.ones(1),
             'bbox_head.reg_convs.1.bias': torch.ones(1),
             'bbox_head.retina_cls.weight': _rows(2 * C)}  # 2 anchors x 5 classes
    src, dst = tmp_path / 'old.pth', tmp_path / 'new.pth'
    torch.save(dict(state_dict=state, meta=dict(config=config, mmdet_version='0.5.1')), src)
    load_tool('tools/model_converters/upgrade_model_version.py').main(
        [str(src), str(dst), '--num-classes', '5'])
    sd = load_checkpoint_safely(str(dst))['state_dict']
    assert set(sd) == {'bbox_head.cls_convs.0.conv.weight', 'bbox_head.reg_convs.1.conv.bias',
                       'bbox_head.retina_cls.weight'}
    assert torch.equal(sd['bbox_head.retina_cls.weight'],
                       _rows(2 * C)[[1, 2, 3, 4, 0, 6, 7, 8, 9, 5]])


def test_config_text_is_never_run(tmp_path):
    marker = tmp_path / 'ran'
    text = (f"import os\nos.system('touch {marker}')\nx = __import__('os').system('touch {marker}')"
            "\nmodel = dict(type='FasterRCNN', rpn_head=dict(), bbox_head=dict(reg_class_agnostic="
            f"open('{marker}', 'w')))\n")
    names = literal_config(text)
    assert not marker.exists()
    assert names['x'] is UNKNOWN and names['model']['bbox_head']['reg_class_agnostic'] is UNKNOWN


def test_ssd_before_2_14(tmp_path):
    config = "model = dict(type='SingleStageDetector', bbox_head=dict(type='SSDHead'))"
    state = {'backbone.features.0.weight': torch.ones(1), 'backbone.extra.0.weight': torch.ones(1),
             'backbone.extra.3.bias': torch.ones(1), 'backbone.l2_norm.weight': torch.ones(1),
             'bbox_head.cls_convs.5.weight': torch.ones(1),
             'bbox_head.reg_convs.0.bias': torch.ones(1)}
    src, dst = tmp_path / 'old.pth', tmp_path / 'new.pth'
    torch.save(dict(state_dict=state, meta=dict(config=config, mmdet_version='2.10.0')), src)
    load_tool('tools/model_converters/upgrade_ssd_version.py').main([str(src), str(dst)])
    assert list(load_checkpoint_safely(str(dst))['state_dict']) == [
        'backbone.features.0.weight', 'neck.extra_layers.0.0.conv.weight',
        'neck.extra_layers.1.1.conv.bias', 'neck.l2_norm.weight', 'bbox_head.cls_convs.5.0.weight',
        'bbox_head.reg_convs.0.0.bias']


def test_selfsup_moco(tmp_path):
    from mmdet_lite.models.backbones import ResNet
    resnet = ResNet(depth=18, base_channels=4)
    moco = {f'module.encoder_q.{k}': v for k, v in resnet.state_dict().items()}
    moco.update({'module.encoder_q.fc.0.weight': torch.ones(2, 2), 'module.encoder_k.conv1.weight':
                 torch.zeros(1), 'module.queue': torch.zeros(3)})
    src, dst = tmp_path / 'moco.pth.tar', tmp_path / 'r18.pth'
    torch.save(dict(state_dict=moco, arch='resnet18', epoch=200), src)
    load_tool('tools/model_converters/selfsup2mmdet.py').main(
        [str(src), str(dst), '--selfsup', 'moco'])
    converted = load_checkpoint_safely(str(dst))['state_dict']
    assert set(converted) == set(resnet.state_dict())
