"""GenericRoIExtractor (GRoIE): every RoI pooled from every level, summed or concatenated, with
the pre (per level) and post modules, against torchvision's roi_align level by level."""
import pytest
import torch
from torchvision.ops import roi_align

from mmdet_lite.models.builder import build_roi_extractor

STRIDES = [4, 8]


def _extractor(**kwargs):
    torch.manual_seed(0)
    cfg = dict(type='GenericRoIExtractor',
               roi_layer=dict(type='RoIAlign', output_size=3, sampling_ratio=2),
               out_channels=4, featmap_strides=STRIDES)
    cfg.update(kwargs)
    return build_roi_extractor(cfg)


def _inputs():
    torch.manual_seed(1)
    feats = [torch.randn(1, 4, 16, 16), torch.randn(1, 4, 8, 8)]
    rois = torch.tensor([[0., 4., 4., 40., 30.], [0., 10., 0., 20., 12.]])
    return feats, rois


def _pooled(feats, rois):
    return [roi_align(f, rois, 3, 1. / s, 2, aligned=True) for f, s in zip(feats, STRIDES)]


def test_sum_and_concat_of_all_levels():
    feats, rois = _inputs()
    levels = _pooled(feats, rois)
    torch.testing.assert_close(_extractor()(feats, rois), levels[0] + levels[1])
    concat = _extractor(aggregation='concat', out_channels=8)(feats, rois)
    torch.testing.assert_close(concat, torch.cat(levels, dim=1))
    with pytest.raises(ValueError, match='out_channels=4'):
        _extractor(aggregation='concat')(feats, rois)
    with pytest.raises(ValueError, match='aggregation'):
        _extractor(aggregation='max')


def test_pre_module_per_level_post_module_after_and_edge_cases():
    feats, rois = _inputs()
    extractor = _extractor(
        pre_cfg=dict(type='ConvModule', in_channels=4, out_channels=4, kernel_size=3, padding=1,
                     inplace=False),
        post_cfg=dict(type='ConvModule', in_channels=4, out_channels=4, kernel_size=1))
    levels = _pooled(feats, rois)
    pre = extractor.pre_module
    expected = extractor.post_module(pre(levels[0]) + pre(levels[1]))
    torch.testing.assert_close(extractor(feats, rois), expected)
    assert {'pre_module.conv.weight', 'post_module.conv.weight'} <= set(extractor.state_dict())
    # rescaled RoIs, a single level, no RoI
    scaled = _extractor()(feats, rois, roi_scale_factor=2.)
    torch.testing.assert_close(scaled, sum(_pooled(feats, extractor.roi_rescale(rois, 2.))))
    torch.testing.assert_close(_extractor()(feats[:1], rois), _pooled(feats, rois)[0])
    assert _extractor()(feats, rois[:0]).shape == (0, 4, 3, 3)
