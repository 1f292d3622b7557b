"""``make_divisible``: round a channel count to a multiple of a divisor (MobileNet widths)."""
from typing import Optional


def make_divisible(value: float, divisor: int, min_value: Optional[int] = None,
                   min_ratio: float = 0.9) -> int:
    """The multiple of ``divisor`` nearest to ``value`` (at least ``min_value``, default
    ``divisor``), raised by one ``divisor`` if rounding lost more than ``1 - min_ratio``.

    Example: ``make_divisible(32 * 0.35, 8)`` → 16 (11.2 rounds to 8, below 0.9 * 11.2).
    """
    min_value = divisor if min_value is None else min_value
    rounded = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if rounded < min_ratio * value:
        rounded += divisor
    return rounded
