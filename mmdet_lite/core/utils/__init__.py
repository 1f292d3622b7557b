from ..mask.utils import mask2ndarray
from .dist_utils import reduce_mean
from .misc import (center_of_mass, filter_scores_and_topk, flip_tensor, generate_coordinate,
                   multi_apply, select_single_mlvl, unmap)

__all__ = [
    'multi_apply', 'unmap', 'reduce_mean', 'flip_tensor', 'select_single_mlvl',
    'filter_scores_and_topk', 'center_of_mass', 'generate_coordinate', 'mask2ndarray'
]
