"""The one normalisation of an image's ``scale_factor`` (docs/conventions.md §3.1)."""
from typing import Sequence, Union

import numpy as np
from torch import Tensor


def scale_factor_tensor(scale_factor: Union[float, Sequence[float], np.ndarray, Tensor],
                        like: Tensor) -> Tensor:
    """``img_metas[i]['scale_factor']`` as a (4,) tensor ``[w, h, w, h]`` on ``like``'s device
    and dtype.

    A scalar or a 1-vector is the same scale for every coordinate, a 2-vector is
    ``(w_scale, h_scale)``, a 4-vector is used as is. Boxes (..., 4) in the resized image frame
    divided by it are in the original image frame; multiplied, the other way round.
    """
    if isinstance(scale_factor, Tensor):
        values = scale_factor.detach().to(device=like.device, dtype=like.dtype).reshape(-1)
    else:
        values = like.new_tensor(np.asarray(scale_factor, dtype=np.float32).reshape(-1))
    if values.numel() == 1:
        return values.repeat(4)
    if values.numel() == 2:
        return values.repeat(2)
    if values.numel() == 4:
        return values
    raise ValueError(f'scale_factor must be a number or hold 1, 2 or 4 values (w_scale, '
                     f'h_scale, w_scale, h_scale), got {values.numel()}: {scale_factor!r}; fix '
                     "the img_metas['scale_factor'] that the Resize step writes")
