"""Corner pooling of CornerNet (Law & Deng, 2018) in plain PyTorch: a running maximum
(``torch.cummax``) along one direction, as mmcv's ``CornerPool`` computes it without its
compiled kernel.

``'top'``: each location takes the maximum of itself and every location below it;
``'bottom'``: above it; ``'left'``: to its right; ``'right'``: to its left. A top-left
corner pools ``'top'`` and ``'left'``, a bottom-right corner ``'bottom'`` and ``'right'``.
"""
from torch import Tensor, nn

# direction -> (dimension of (N, C, H, W), whether the running maximum runs backwards)
_CUMMAX_DIM_FLIP = {'bottom': (2, False), 'left': (3, True), 'right': (3, False),
                    'top': (2, True)}


class CornerPool(nn.Module):
    """Corner pooling in one of the directions 'top', 'bottom', 'left', 'right'."""

    def __init__(self, mode: str):
        super().__init__()
        if mode not in _CUMMAX_DIM_FLIP:
            raise ValueError(f"CornerPool: mode must be one of {sorted(_CUMMAX_DIM_FLIP)}, got "
                             f'{mode!r}')
        self.mode = mode

    def forward(self, x: Tensor) -> Tensor:
        """(N, C, H, W) → (N, C, H, W) running maxima."""
        dim, flip = _CUMMAX_DIM_FLIP[self.mode]
        if flip:
            x = x.flip(dim)
        pooled, _ = x.cummax(dim=dim)
        return pooled.flip(dim) if flip else pooled
