"""detectron2 → mmdet_lite weights: a file with detectron2's R50-FPN Mask R-CNN key layout
(built here, tiny widths) converts to exactly our state dict; a malicious pickle is refused."""
import os
import pickle
from collections import OrderedDict

import numpy as np
import pytest
import torch
from mmengine.config import Config

from mmdet_lite.checkpoint import UnsafeCheckpointError, load_checkpoint_safely
from mmdet_lite.models import build_detector

from .tool_loader import REPO, load_tool

WIDTH, FPN, FC, NUM_CLASSES = 8, 16, 32, 4  # tiny R50 (base width 8), FPN 16, 4 classes


def _tiny_model(config: str):
    cfg = Config.fromfile(os.path.join(REPO, 'configs', 'detectron2', config))
    model = cfg.model
    model.backbone.base_channels = WIDTH
    model.neck.update(in_channels=[WIDTH * 4 * 2**i for i in range(4)], out_channels=FPN)
    model.rpn_head.update(in_channels=FPN, feat_channels=FPN)
    model.roi_head.bbox_roi_extractor.out_channels = FPN
    model.roi_head.bbox_head.update(in_channels=FPN, fc_out_channels=FC,
                                    num_classes=NUM_CLASSES)
    if 'mask_head' in model.roi_head:
        model.roi_head.mask_roi_extractor.out_channels = FPN
        model.roi_head.mask_head.update(in_channels=FPN, conv_out_channels=FPN,
                                        num_classes=NUM_CLASSES)
    return build_detector(model)


def _detectron2_layout(with_mask: bool) -> 'OrderedDict[str, np.ndarray]':
    """detectron2's names and shapes for build_resnet_fpn_backbone + StandardRPNHead +
    FastRCNNConvFCHead (2 fc) + FastRCNNOutputLayers (+ MaskRCNNConvUpsampleHead), written
    from detectron2's module structure, with distinct random values."""
    rng = np.random.default_rng(0)
    shapes = OrderedDict()

    def conv_norm(name, out_c, in_c, k):
        shapes[f'{name}.weight'] = (out_c, in_c, k, k)
        for p in ('weight', 'bias', 'running_mean', 'running_var'):
            shapes[f'{name}.norm.{p}'] = (out_c, )

    conv_norm('backbone.bottom_up.stem.conv1', WIDTH, 3, 7)
    in_c = WIDTH
    for stage, blocks in zip(range(2, 6), (3, 4, 6, 3)):
        mid = WIDTH * 2**(stage - 2)
        out_c = mid * 4
        for b in range(blocks):
            prefix = f'backbone.bottom_up.res{stage}.{b}'
            if b == 0:
                conv_norm(f'{prefix}.shortcut', out_c, in_c, 1)
            conv_norm(f'{prefix}.conv1', mid, in_c if b == 0 else out_c, 1)
            conv_norm(f'{prefix}.conv2', mid, mid, 3)
            conv_norm(f'{prefix}.conv3', out_c, mid, 1)
        in_c = out_c
    for level in range(2, 6):
        shapes[f'backbone.fpn_lateral{level}.weight'] = (FPN, WIDTH * 4 * 2**(level - 2), 1, 1)
        shapes[f'backbone.fpn_lateral{level}.bias'] = (FPN, )
        shapes[f'backbone.fpn_output{level}.weight'] = (FPN, FPN, 3, 3)
        shapes[f'backbone.fpn_output{level}.bias'] = (FPN, )
    for name, out_c, k in (('conv', FPN, 3), ('objectness_logits', 3, 1),
                           ('anchor_deltas', 12, 1)):
        shapes[f'proposal_generator.rpn_head.{name}.weight'] = (out_c, FPN, k, k)
        shapes[f'proposal_generator.rpn_head.{name}.bias'] = (out_c, )
    shapes['roi_heads.box_head.fc1.weight'] = (FC, FPN * 7 * 7)
    shapes['roi_heads.box_head.fc1.bias'] = (FC, )
    shapes['roi_heads.box_head.fc2.weight'] = (FC, FC)
    shapes['roi_heads.box_head.fc2.bias'] = (FC, )
    shapes['roi_heads.box_predictor.cls_score.weight'] = (NUM_CLASSES + 1, FC)
    shapes['roi_heads.box_predictor.cls_score.bias'] = (NUM_CLASSES + 1, )
    shapes['roi_heads.box_predictor.bbox_pred.weight'] = (NUM_CLASSES * 4, FC)
    shapes['roi_heads.box_predictor.bbox_pred.bias'] = (NUM_CLASSES * 4, )
    if with_mask:
        for i in range(1, 5):
            shapes[f'roi_heads.mask_head.mask_fcn{i}.weight'] = (FPN, FPN, 3, 3)
            shapes[f'roi_heads.mask_head.mask_fcn{i}.bias'] = (FPN, )
        shapes['roi_heads.mask_head.deconv.weight'] = (FPN, FPN, 2, 2)  # ConvTranspose2d
        shapes['roi_heads.mask_head.deconv.bias'] = (FPN, )
        shapes['roi_heads.mask_head.predictor.weight'] = (NUM_CLASSES, FPN, 1, 1)
        shapes['roi_heads.mask_head.predictor.bias'] = (NUM_CLASSES, )
    return OrderedDict((k, rng.standard_normal(s).astype(np.float32)) for k, s in shapes.items())


@pytest.mark.parametrize('config,with_mask', [('faster_rcnn_r50_fpn_d2.py', False),
                                              ('mask_rcnn_r50_fpn_d2.py', True)])
def test_detectron2_pkl_converts_to_our_state_dict(tmp_path, config, with_mask):
    d2 = _detectron2_layout(with_mask)
    src, dst = tmp_path / 'model_final.pkl', tmp_path / 'converted.pth'
    with open(src, 'wb') as f:  # as detectron2's model zoo: pickled dict of numpy arrays
        pickle.dump({'model': d2, '__author__': 'Detectron2 Model Zoo',
                     'matching_heuristics': True}, f)
    load_tool('tools/model_converters/detectron2pytorch.py').main([str(src), str(dst)])
    converted = load_checkpoint_safely(str(dst))['state_dict']
    ours = _tiny_model(config).state_dict()
    assert set(converted) == set(ours)
    for key, value in ours.items():
        assert converted[key].shape == value.shape, key
    # Every converted tensor is exactly one detectron2 array (values are distinct randoms).
    by_bytes = {v.tobytes(): k for k, v in d2.items()}
    sources = {k: by_bytes.get(v.numpy().tobytes()) for k, v in converted.items()
               if not k.endswith('num_batches_tracked')}
    assert None not in sources.values() and len(set(sources.values())) == len(d2)
    # The layers that would break silently if reordered: background stays last, class-major
    # deltas unchanged, shortcut = downsample, deconv = upsample.
    assert sources['roi_head.bbox_head.fc_cls.weight'] == 'roi_heads.box_predictor.cls_score.weight'
    assert sources['roi_head.bbox_head.fc_reg.bias'] == 'roi_heads.box_predictor.bbox_pred.bias'
    assert sources['backbone.layer1.0.downsample.0.weight'] == \
        'backbone.bottom_up.res2.0.shortcut.weight'
    assert sources['backbone.layer4.2.bn3.running_var'] == \
        'backbone.bottom_up.res5.2.conv3.norm.running_var'
    assert sources['neck.lateral_convs.0.conv.weight'] == 'backbone.fpn_lateral2.weight'
    assert sources['neck.fpn_convs.3.conv.bias'] == 'backbone.fpn_output5.bias'
    assert sources['rpn_head.rpn_cls.weight'] == \
        'proposal_generator.rpn_head.objectness_logits.weight'
    assert sources['roi_head.bbox_head.shared_fcs.1.weight'] == 'roi_heads.box_head.fc2.weight'
    if with_mask:
        assert sources['roi_head.mask_head.upsample.weight'] == 'roi_heads.mask_head.deconv.weight'
        assert sources['roi_head.mask_head.convs.3.conv.weight'] == \
            'roi_heads.mask_head.mask_fcn4.weight'
        assert sources['roi_head.mask_head.conv_logits.bias'] == \
            'roi_heads.mask_head.predictor.bias'


def test_d2_config_anchors_equal_detectron2s():
    """DefaultAnchorGenerator (offset 0): per size, for aspect ratio a = h / w in (0.5, 1, 2),
    w = sqrt(size^2 / a), h = a w, centred on the cell corner; sizes 32..512 on P2..P6."""
    model = _tiny_model('faster_rcnn_r50_fpn_d2.py')
    ours = model.rpn_head.prior_generator.grid_priors([(2, 3)] * 5, device='cpu')
    for level, (size, stride) in enumerate(zip((32, 64, 128, 256, 512), (4, 8, 16, 32, 64))):
        cell = []
        for a in (0.5, 1.0, 2.0):
            w = (size**2 / a)**0.5
            cell.append([-w / 2, -a * w / 2, w / 2, a * w / 2])
        cell = torch.tensor(cell)
        shifts = torch.tensor([[x * stride, y * stride] * 2 for y in range(2) for x in range(3)],
                              dtype=torch.float32)
        expected = (shifts[:, None] + cell[None]).reshape(-1, 4)
        torch.testing.assert_close(ours[level], expected)


def test_detectron2_pth_and_unknown_key(tmp_path):
    d2 = _detectron2_layout(False)
    src = tmp_path / 'model_final.pth'
    torch.save({'model': {k: torch.from_numpy(v) for k, v in d2.items()}, 'iteration': 9}, src)
    tool = load_tool('tools/model_converters/detectron2pytorch.py')
    tool.main([str(src), str(tmp_path / 'out.pth')])
    out = load_checkpoint_safely(str(tmp_path / 'out.pth'))['state_dict']
    assert torch.equal(out['rpn_head.rpn_reg.weight'],
                       torch.from_numpy(d2['proposal_generator.rpn_head.anchor_deltas.weight']))
    d2['roi_heads.keypoint_head.conv_fcn1.weight'] = np.zeros(1, np.float32)
    with open(tmp_path / 'kp.pkl', 'wb') as f:
        pickle.dump({'model': d2}, f)
    with pytest.raises(KeyError, match='keypoint_head.conv_fcn1'):
        tool.main([str(tmp_path / 'kp.pkl'), str(tmp_path / 'kp.pth')])


def test_detectron_imagenet_blobs(tmp_path, capsys):
    rng = np.random.default_rng(1)
    w = WIDTH  # Detectron's R-50 has width 64; the converter does not depend on it
    blobs = {'conv1_w': rng.standard_normal((w, 3, 7, 7)).astype(np.float32),
             'res_conv1_bn_s': np.ones(w, np.float32), 'res_conv1_bn_b': np.zeros(w, np.float32),
             'fc1000_w': np.zeros((10, w * 32), np.float32)}
    in_c = w
    for stage, blocks in zip(range(2, 6), (3, 4, 6, 3)):
        mid = w * 2**(stage - 2)
        for b in range(blocks):
            names = [('branch1', mid * 4, in_c, 1)] if b == 0 else []
            names += [('branch2a', mid, in_c if b == 0 else mid * 4, 1),
                      ('branch2b', mid, mid, 3), ('branch2c', mid * 4, mid, 1)]
            for name, out_c, i_c, k in names:
                blobs[f'res{stage}_{b}_{name}_w'] = rng.standard_normal(
                    (out_c, i_c, k, k)).astype(np.float32)
                blobs[f'res{stage}_{b}_{name}_bn_s'] = rng.random(out_c).astype(np.float32)
                blobs[f'res{stage}_{b}_{name}_bn_b'] = rng.random(out_c).astype(np.float32)
        in_c = mid * 4
    src = tmp_path / 'R-50.pkl'
    with open(src, 'wb') as f:
        pickle.dump({'blobs': blobs}, f, protocol=2)
    tool = load_tool('tools/model_converters/detectron2pytorch.py')
    with pytest.raises(ValueError, match='depth'):
        tool.main([str(src), str(tmp_path / 'r50.pth')])
    tool.main([str(src), str(tmp_path / 'r50.pth'), '50'])
    assert 'Not Convert: fc1000_w' in capsys.readouterr().out
    out = load_checkpoint_safely(str(tmp_path / 'r50.pth'))['state_dict']
    from mmdet_lite.models.backbones import ResNet
    resnet = ResNet(depth=50, base_channels=w, style='caffe')
    assert set(out) == set(resnet.state_dict())
    assert torch.equal(out['layer3.5.bn2.weight'], torch.from_numpy(blobs['res4_5_branch2b_bn_s']))
    assert torch.equal(out['layer1.0.downsample.0.weight'],
                       torch.from_numpy(blobs['res2_0_branch1_w']))
    assert float(out['bn1.running_var'].sum()) == w


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f'touch {self.marker}', ))


def test_malicious_pickle_is_refused_before_running(tmp_path):
    marker = tmp_path / 'pwned'
    src = tmp_path / 'model_final.pkl'
    with open(src, 'wb') as f:
        pickle.dump({'model': {'backbone.bottom_up.stem.conv1.weight': _Evil(str(marker))},
                     '__author__': 'Detectron2 Model Zoo'}, f)
    tool = load_tool('tools/model_converters/detectron2pytorch.py')
    with pytest.raises(UnsafeCheckpointError, match=r'refused to unpickle (posix|os)\.system'):
        tool.main([str(src), str(tmp_path / 'out.pth')])
    assert not marker.exists()
    assert not (tmp_path / 'out.pth').exists()
