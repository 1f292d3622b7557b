import math

import pytest
import torch

from mmdet_lite.core import (LegacyAnchorGenerator, LegacySSDAnchorGenerator, SSDAnchorGenerator,
                             YOLOAnchorGenerator, build_prior_generator)
from mmdet_lite.core.anchor.ssd_anchor_generator import ssd_anchor_sizes
from ..mmdet2_reference import reference

SSD300 = dict(scale_major=False, input_size=300, basesize_ratio_range=(0.15, 0.9),
              strides=[8, 16, 32, 64, 100, 300], ratios=[[2], [2, 3], [2, 3], [2, 3], [2], [2]])
SSD512 = dict(scale_major=False, input_size=512, basesize_ratio_range=(0.1, 0.9),
              strides=[8, 16, 32, 64, 128, 256, 512],
              ratios=[[2], [2, 3], [2, 3], [2, 3], [2, 3], [2], [2]])
YOLOV3 = dict(strides=[32, 16, 8], base_sizes=[[(116, 90), (156, 198), (373, 326)],
                                                [(30, 61), (62, 45), (59, 119)],
                                                [(10, 13), (16, 30), (33, 23)]])


def test_ssd300_by_hand():
    # levels 2..6 step 18 % of 300 from 15 %, level 1 is 7 %..15 %
    assert ssd_anchor_sizes(300, (0.15, 0.9), 6) == ([21, 45, 99, 153, 207, 261],
                                                     [45, 99, 153, 207, 261, 315])
    gen = SSDAnchorGenerator(**SSD300)
    assert gen.num_base_priors == [4, 6, 6, 6, 4, 4] and gen.num_levels == 6
    big = math.sqrt(21 * 45) / 2  # the square of size sqrt(min * max)
    w2, h2 = 21 * math.sqrt(2) / 2, 21 / math.sqrt(2) / 2  # ratio h/w = 1/2
    expected = torch.tensor([[4 - 10.5, 4 - 10.5, 4 + 10.5, 4 + 10.5],
                             [4 - big, 4 - big, 4 + big, 4 + big],
                             [4 - w2, 4 - h2, 4 + w2, 4 + h2],
                             [4 - h2, 4 - w2, 4 + h2, 4 + w2]])
    torch.testing.assert_close(gen.base_anchors[0], expected)
    anchors = gen.single_level_grid_priors((1, 2), 0)
    torch.testing.assert_close(anchors[4:], expected + torch.tensor([8., 0., 8., 0.]))


def test_ssd_argument_errors():
    with pytest.raises(ValueError, match='input_size 300'):
        SSDAnchorGenerator(strides=[8, 16, 32], ratios=[[2]] * 3, input_size=320)
    with pytest.raises(ValueError, match='both min_sizes and max_sizes'):
        SSDAnchorGenerator(strides=[8], ratios=[[2]], min_sizes=[10])
    with pytest.raises(ValueError, match='ratio lists'):
        SSDAnchorGenerator(strides=[8, 16], ratios=[[2]])


@pytest.mark.parametrize('case,cfg', [
    ('ssd300', SSD300), ('ssd512', SSD512),
    ('ssd300_voc', dict(SSD300, basesize_ratio_range=(0.2, 0.9))),
    ('ssdlite', dict(scale_major=False, strides=[16, 32, 64, 107, 160, 320],
                     ratios=[[2, 3]] * 6, min_sizes=[48, 100, 150, 202, 253, 304],
                     max_sizes=[100, 150, 202, 253, 304, 320])),
    ('legacy_ssd300', dict(SSD300, type='LegacySSDAnchorGenerator')),
])
def test_ssd_against_mmdet2(case, cfg):
    ref = reference(case)
    gen = build_prior_generator(dict(dict(type='SSDAnchorGenerator'), **cfg))
    assert gen.num_base_priors == ref['num_base_priors'].tolist()
    torch.testing.assert_close(torch.cat(gen.base_anchors), ref['base_anchors'])
    torch.testing.assert_close(torch.cat(gen.grid_priors([(2, 2)] * gen.num_levels)),
                               ref['grid'])


def test_legacy_ssd_by_hand():
    gen = LegacySSDAnchorGenerator(**{k: v for k, v in SSD300.items()})
    # centre (8 - 1) / 2 = 3.5, size 21 spans 20 pixels: [-6.5, 13.5] rounded half to even
    assert gen.base_anchors[0][0].tolist() == [-6., -6., 14., 14.]


def test_yolo_by_hand():
    gen = YOLOAnchorGenerator(**YOLOV3)
    assert gen.num_levels == 3 and gen.num_base_priors == [3, 3, 3]
    assert gen.base_anchors[0][0].tolist() == [16 - 58., 16 - 45., 16 + 58., 16 + 45.]
    gt = torch.tensor([[5., 7., 40., 60.]])  # centre (22.5, 33.5)
    flags = gen.responsible_flags([(3, 4), (6, 8), (12, 16)], gt)
    # stride 32: cell (row 1, col 0) = cell 4; stride 16: (2, 1) = 17; stride 8: (4, 2) = 66
    for level, cell in enumerate([4, 17, 66]):
        expected = torch.zeros_like(flags[level])
        expected[cell * 3:cell * 3 + 3] = True
        assert torch.equal(flags[level], expected)
    with pytest.raises(ValueError, match='outside'):
        gen.responsible_flags([(1, 1), (6, 8), (12, 16)], gt)
    with pytest.raises(ValueError, match='same number'):
        YOLOAnchorGenerator(strides=[8, 16], base_sizes=[[(1, 1)], [(1, 1), (2, 2)]])


def test_yolo_against_mmdet2():
    ref = reference('yolo_anchors')
    gen = build_prior_generator(dict(type='YOLOAnchorGenerator', **YOLOV3))
    torch.testing.assert_close(torch.cat(gen.base_anchors), ref['base_anchors'])
    sizes = [(3, 4), (6, 8), (12, 16)]
    torch.testing.assert_close(torch.cat(gen.grid_priors(sizes)), ref['grid'])
    flags = torch.cat(gen.responsible_flags(sizes, ref['gt_bboxes']))
    assert torch.equal(flags, ref['responsible'].bool())


def test_legacy_anchors():
    # 1.x convention: base size 9 spans 8 pixels around 0.5 * (9 - 1)
    gen = LegacyAnchorGenerator(strides=[16], ratios=[1.], scales=[1.], base_sizes=[9],
                                center_offset=0.5)
    assert gen.grid_priors([(2, 2)])[0].tolist() == [[0., 0., 8., 8.], [16., 0., 24., 8.],
                                                     [0., 16., 8., 24.], [16., 16., 24., 24.]]
    ref = reference('legacy_anchors')
    gen = build_prior_generator(dict(type='LegacyAnchorGenerator', strides=[8, 16],
                                     ratios=[0.5, 1.0, 2.0], octave_base_scale=4,
                                     scales_per_octave=3, center_offset=0.5))
    torch.testing.assert_close(torch.cat(gen.base_anchors), ref['base_anchors'])
    torch.testing.assert_close(torch.cat(gen.grid_priors([(2, 3), (1, 2)])), ref['grid'])
