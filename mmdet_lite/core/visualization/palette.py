"""Colours for drawing: named colours, per-class palettes (RGB tuples, as mmdetection 2.x)."""
from typing import List, Sequence, Tuple, Union

import numpy as np

RGB = Tuple[int, int, int]
ColorSpec = Union[None, str, Sequence[int], Sequence[Sequence[int]]]

NAMED_COLORS = {
    'red': (255, 0, 0),
    'green': (0, 255, 0),
    'blue': (0, 0, 255),
    'cyan': (0, 255, 255),
    'yellow': (255, 255, 0),
    'magenta': (255, 0, 255),
    'white': (255, 255, 255),
    'black': (0, 0, 0),
}


def color_val_rgb(color: Union[str, Sequence[int]]) -> RGB:
    """One colour as an RGB tuple of ints in [0, 255].

    ``color`` is a name from :data:`NAMED_COLORS` or 3 ints (RGB).
    """
    if isinstance(color, str):
        if color not in NAMED_COLORS:
            raise ValueError(f'unknown colour name {color!r}; use one of '
                             f'{sorted(NAMED_COLORS)} or an (R, G, B) tuple')
        return NAMED_COLORS[color]
    values = tuple(int(c) for c in color)
    if len(values) != 3 or not all(0 <= c <= 255 for c in values):
        raise ValueError(f'a colour must be 3 ints in [0, 255] (R, G, B), got {color!r}')
    return values  # type: ignore[return-value]


def random_palette(num_classes: int, seed: int = 42) -> List[RGB]:
    """``num_classes`` reproducible random RGB colours (the global numpy RNG is untouched)."""
    rng = np.random.default_rng(seed)
    colors = rng.integers(0, 256, size=(num_classes, 3))
    return [tuple(int(c) for c in row) for row in colors]  # type: ignore[misc]


def get_palette(palette: ColorSpec, num_classes: int) -> List[RGB]:
    """One RGB colour per class.

    Args:
        palette: ``None`` or ``'random'`` (seeded random colours), a colour name (all classes
            alike), one (R, G, B) tuple (all classes alike) or a list of (R, G, B), one per class.
        num_classes: How many colours are needed.
    """
    if not isinstance(num_classes, (int, np.integer)) or num_classes < 0:
        raise ValueError(f'num_classes must be an int >= 0, got {num_classes!r}')
    if palette is None or (isinstance(palette, str) and palette == 'random'):
        return random_palette(num_classes)
    if isinstance(palette, str):
        return [color_val_rgb(palette)] * num_classes
    if isinstance(palette, np.ndarray):
        palette = palette.tolist()
    if isinstance(palette, tuple) and len(palette) == 3 and all(
            isinstance(c, (int, np.integer)) for c in palette):
        return [color_val_rgb(palette)] * num_classes
    if isinstance(palette, (list, tuple)):
        colors = [color_val_rgb(c) for c in palette]
        if len(colors) < num_classes:
            raise ValueError(f'the palette has {len(colors)} colours but {num_classes} classes '
                             'are drawn; give at least one colour per class')
        return colors
    raise TypeError(f'invalid palette {palette!r}: use None, \'random\', a colour name, an '
                    '(R, G, B) tuple or a list of them')


def palette_val(palette: Sequence[RGB]) -> List[Tuple[float, float, float]]:
    """RGB colours in [0, 255] → matplotlib colours in [0, 1]."""
    return [tuple(c / 255 for c in color) for color in palette]  # type: ignore[misc]

