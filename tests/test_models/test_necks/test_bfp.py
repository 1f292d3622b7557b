import pytest
import torch

from mmdet_lite.models.necks import BFP


def test_bfp_without_refinement_adds_the_balanced_mean():
    feats = [torch.full((1, 2, 8 // 2**i, 8 // 2**i), float(i)) for i in range(3)]
    outs = BFP(2, 3, refine_level=1)(feats)
    # constant levels 0, 1, 2 → balanced feature 1 everywhere → each level + 1
    for i, out in enumerate(outs):
        torch.testing.assert_close(out, feats[i] + 1)
    with pytest.raises(ValueError, match='refine_type'):
        BFP(2, 3, refine_type='attention')
    with pytest.raises(ValueError, match='refine_level=3'):
        BFP(2, 3, refine_level=3)
