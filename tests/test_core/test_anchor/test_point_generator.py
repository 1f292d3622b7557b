import pytest
import torch

from mmdet_lite.core import MlvlPointGenerator, PointGenerator, build_prior_generator
from ..mmdet2_reference import reference


def test_points_by_hand():
    gen = MlvlPointGenerator(strides=[8, (16, 8)])
    assert gen.num_levels == 2 and gen.num_base_priors == [1, 1] and gen.offset == 0.5
    level0, level1 = gen.grid_priors([(2, 3), (1, 2)])
    # cell centres, row by row; level 1 has stride_w 16, stride_h 8
    assert level0.tolist() == [[4., 4.], [12., 4.], [20., 4.], [4., 12.], [12., 12.], [20., 12.]]
    assert level1.tolist() == [[8., 4.], [24., 4.]]
    _, with_stride = gen.grid_priors([(2, 3), (1, 2)], with_stride=True)
    assert with_stride.tolist() == [[8., 4., 16., 8.], [24., 4., 16., 8.]]
    assert level0.dtype == torch.float32
    half = gen.single_level_grid_priors((2, 3), 0, dtype=torch.float16, with_stride=True)
    assert half.dtype == torch.float16 and half.shape == (6, 4)

    corner = MlvlPointGenerator([8], offset=0).grid_priors([(1, 3)])[0]
    assert corner.tolist() == [[0., 0.], [8., 0.], [16., 0.]]

    # flat index 5 of a 2 x 3 map is row 1, column 2
    assert gen.sparse_priors(torch.tensor([5, 1]), (2, 3), 0).tolist() == [[20., 12.], [12., 4.]]


def test_valid_flags_and_errors():
    gen = build_prior_generator(dict(type='MlvlPointGenerator', strides=[8, 16]))
    # a 9 x 12 padded image covers 2 x 2 cells of stride 8 and 1 x 1 of stride 16
    flags0, flags1 = gen.valid_flags([(2, 3), (1, 2)], (9, 12, 3))
    assert flags0.tolist() == [True, True, False, True, True, False]
    assert flags1.tolist() == [True, False]
    with pytest.raises(ValueError, match='2 levels'):
        gen.grid_priors([(2, 3)])
    with pytest.raises(ValueError, match='exceeds'):
        gen.single_level_valid_flags((2, 2), (3, 2))
    with pytest.raises(ValueError, match='pair'):
        MlvlPointGenerator([(8, 8, 8)])
    empty = gen.single_level_grid_priors((0, 3), 0)
    assert empty.shape == (0, 2)


def test_legacy_point_generator():
    gen = PointGenerator()
    assert gen.grid_points((2, 2), stride=4).tolist() == [[0., 0., 4.], [4., 0., 4.],
                                                          [0., 4., 4.], [4., 4., 4.]]
    assert gen.valid_flags((2, 2), (1, 2)).tolist() == [True, True, False, False]


@pytest.mark.parametrize('offset', [0.5, 0.])
def test_points_against_mmdet2(offset):
    ref = reference(f'points_offset{offset}')
    gen = MlvlPointGenerator([8, (16, 8)], offset=offset)
    sizes = [(3, 5), (2, 3)]
    assert torch.equal(torch.cat(gen.grid_priors(sizes)), ref['plain'])
    assert torch.equal(torch.cat(gen.grid_priors(sizes, with_stride=True)), ref['with_stride'])
    assert torch.equal(torch.cat(gen.valid_flags(sizes, (12, 30))), ref['valid'])
    assert torch.equal(gen.sparse_priors(torch.tensor([0, 4, 7, 14]), (3, 5), 1), ref['sparse'])
