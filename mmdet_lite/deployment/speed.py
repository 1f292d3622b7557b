"""Inference speed of one detector in several engines, measured side by side
(``tools/deployment/benchmark.py``).

Every image is run by every engine before the next image (the engines' order rotating from
image to image), so that a machine whose load changes during the run (other processes, CPU
frequency) slows all engines alike; compare the engines within one run, not across runs.
The time of an image is that of ``inference_detector``: test pipeline, network and
post-processing (rescale, mask pasting), what a user waits for.

Shapes: ``H, W`` an image's size.
"""
import time
from typing import Dict, List, Mapping, NamedTuple, Optional, Sequence

import cv2
import numpy as np

from ..apis import inference_detector


class SpeedRow(NamedTuple):
    """Seconds per image of one engine: median, min, max over ``count`` images."""
    name: str
    median: float
    min: float
    max: float
    count: int


def synthetic_images(num: int, height: int, width: int, seed: int = 0) -> List[np.ndarray]:
    """``num`` reproducible BGR uint8 (H, W, 3) test images: a smooth background with random
    filled rectangles and ellipses (objects of every size, so that the detector's work does not
    depend on the weights having learned anything)."""
    rng = np.random.RandomState(seed)
    images = []
    for _ in range(num):
        base = rng.randint(0, 256, size=(height // 32 + 1, width // 32 + 1, 3)).astype(np.uint8)
        img = cv2.resize(base, (width, height), interpolation=cv2.INTER_LINEAR)
        for _ in range(30):
            x1, y1 = int(rng.randint(0, width - 16)), int(rng.randint(0, height - 16))
            w, h = int(rng.randint(16, width // 3)), int(rng.randint(16, height // 3))
            color = tuple(int(c) for c in rng.randint(0, 256, size=3))
            if rng.rand() < 0.5:
                cv2.rectangle(img, (x1, y1), (x1 + w, y1 + h), color, -1)
            else:
                cv2.ellipse(img, (x1, y1), (w // 2, h // 2), 0, 0, 360, color, -1)
        images.append(img)
    return images


def interleaved_times(detectors: Mapping[str, object], images: Sequence[np.ndarray],
                      warmup: int = 1) -> Dict[str, List[float]]:
    """Seconds of ``inference_detector(detector, image)`` per engine and image.

    Args:
        detectors: ``{name: detector}`` (PyTorch detectors from ``init_detector``, backend
            detectors from ``build_backend_detector``).
        images: BGR images (H, W, 3) or paths.
        warmup: runs of the first image per engine before timing (lazy initialisation,
            allocator warm-up).
    """
    names = list(detectors)
    for name in names:
        for _ in range(warmup):
            inference_detector(detectors[name], images[0])
    times: Dict[str, List[float]] = {name: [] for name in names}
    for i, image in enumerate(images):
        order = names[i % len(names):] + names[:i % len(names)]
        for name in order:
            start = time.perf_counter()
            inference_detector(detectors[name], image)
            times[name].append(time.perf_counter() - start)
    return times


def speed_rows(times: Mapping[str, Sequence[float]]) -> List[SpeedRow]:
    """:class:`SpeedRow` of each engine of :func:`interleaved_times`."""
    return [SpeedRow(name, float(np.median(t)), float(np.min(t)), float(np.max(t)), len(t))
            for name, t in times.items()]


def paired_ratios(times: Mapping[str, Sequence[float]], reference: str) -> Dict[str, float]:
    """Each engine's median over images of its time over ``reference``'s time on the same
    image. The engines ran an image one right after another, so a load change between images
    (other jobs on the machine) cancels out of these ratios, not out of the medians' ratio."""
    ref = np.asarray(times[reference])
    return {name: float(np.median(np.asarray(t) / ref)) for name, t in times.items()}


def speed_table(rows: Sequence[SpeedRow], reference: Optional[str] = None,
                paired: Optional[Mapping[str, float]] = None) -> str:
    """A markdown table (ms per image; each engine's median relative to ``reference``'s and,
    when given, its :func:`paired_ratios`)."""
    ref = next((row for row in rows if row.name == reference), None)
    header = '| engine | median ms | min ms | max ms | images | vs ' + (reference or '-') + ' |'
    rule = '| --- | ---: | ---: | ---: | ---: | ---: |'
    if paired is not None:
        header += ' per-image ratio (median) |'
        rule += ' ---: |'
    lines = [header, rule]
    for row in rows:
        ratio = f'{row.median / ref.median:.2f}x' if ref is not None else '-'
        line = (f'| {row.name} | {row.median * 1e3:.0f} | {row.min * 1e3:.0f} | '
                f'{row.max * 1e3:.0f} | {row.count} | {ratio} |')
        if paired is not None:
            line += f' {paired[row.name]:.2f}x |'
        lines.append(line)
    return '\n'.join(lines)
