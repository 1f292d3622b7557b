"""SCNet's parts: SimplifiedBasicBlock, GlobalContextHead (multi-label loss), FeatureRelayHead,
and SCNetRoIHead's context fusion and positive-feature slicing, against worked values."""
import torch
import torch.nn.functional as F

from mmdet_lite.core import SamplingResult
from mmdet_lite.core.bbox.assigners.assign_result import AssignResult
from mmdet_lite.models.builder import build_head
from mmdet_lite.models.utils.simplified_basic_block import SimplifiedBasicBlock


def test_simplified_basic_block_without_norm_has_biases_and_no_last_relu():
    block = SimplifiedBasicBlock(4, 4, norm_cfg=None)
    assert block.norm1 is None and block.conv1.bias is not None
    x = torch.randn(2, 4, 6, 6)
    expected = block.conv2(F.relu(block.conv1(x))) + x
    torch.testing.assert_close(block(x), expected)
    with_norm = SimplifiedBasicBlock(4, 4)
    assert {'bn1.weight', 'bn2.weight'} <= set(with_norm.state_dict())  # 2.x's names
    assert with_norm.conv1.bias is None


def test_global_context_head_targets_the_classes_present():
    head = build_head(dict(type='GlobalContextHead', num_convs=2, in_channels=4,
                           conv_out_channels=4, num_classes=3, loss_weight=3.0,
                           conv_to_res=True))
    pred, feat = head([torch.randn(2, 4, 8, 8), torch.randn(2, 4, 4, 4)])
    assert pred.shape == (2, 3) and feat.shape == (2, 4, 1, 1) and head.num_convs == 1
    loss = head.loss(pred, [torch.tensor([2, 2, 0]), torch.tensor([], dtype=torch.long)])
    targets = torch.tensor([[1., 0., 1.], [0., 0., 0.]])
    torch.testing.assert_close(loss, 3 * F.binary_cross_entropy_with_logits(pred, targets))


def test_feature_relay_head_maps_and_upsamples():
    head = build_head(dict(type='FeatureRelayHead', in_channels=8, out_conv_channels=2,
                           roi_feat_size=3, scale_factor=2))
    out = head(torch.randn(5, 8))
    assert out.shape == (5, 2, 6, 6)
    assert head(torch.zeros(0, 8)) is None


def test_scnet_roi_head_fuses_context_per_image_and_slices_positives():
    extractor = dict(type='SingleRoIExtractor',
                     roi_layer=dict(type='RoIAlign', output_size=7, sampling_ratio=0),
                     out_channels=4, featmap_strides=[4])
    head = build_head(dict(
        type='SCNetRoIHead', num_stages=1, stage_loss_weights=[1],
        bbox_roi_extractor=extractor,
        bbox_head=dict(type='SCNetBBoxHead', num_shared_fcs=2, in_channels=4,
                       fc_out_channels=8, roi_feat_size=7, num_classes=2),
        mask_roi_extractor=dict(extractor, roi_layer=dict(type='RoIAlign', output_size=14,
                                                          sampling_ratio=0)),
        mask_head=dict(type='SCNetMaskHead', num_convs=2, in_channels=4, conv_out_channels=4,
                       num_classes=2)))
    roi_feats = torch.zeros(3, 4, 2, 2)
    context = torch.arange(8.).view(2, 4, 1, 1)
    rois = torch.tensor([[1., 0, 0, 4, 4], [0., 0, 0, 4, 4], [1., 2, 2, 6, 6]])
    fused = head._fuse_glbctx(roi_feats, context, rois)
    torch.testing.assert_close(fused[:, :, 0, 0], context[[1, 0, 1], :, 0, 0])

    def result(num_pos, num_neg):
        boxes = torch.rand(num_pos + num_neg, 4) * 10
        boxes[:, 2:] += boxes[:, :2]
        assign = AssignResult(1, torch.tensor([1] * num_pos + [0] * num_neg),
                              torch.ones(num_pos + num_neg))
        return SamplingResult(torch.arange(num_pos), torch.arange(num_pos, num_pos + num_neg),
                              boxes, boxes[:1], assign,
                              torch.zeros(num_pos + num_neg, dtype=torch.uint8))

    feats = torch.arange(7.)[:, None]
    sliced = head._slice_pos_feats(feats, [result(2, 1), result(1, 3)])
    torch.testing.assert_close(sliced, torch.tensor([[0.], [1.], [3.]]))
    # the mask head's convs are residual blocks
    assert type(head.mask_head.convs[0]).__name__ == 'SimplifiedBasicBlock'
