"""Repeat-factor sampling for long-tailed data (mmdetection 2.x ``ClassBalancedDataset``, LVIS)."""
import math
from collections import defaultdict
from typing import List

import numpy as np
from torch.utils.data import Dataset

from ..registry import DATASETS
from .dataset_wrappers import require_built


@DATASETS.register_module()
class ClassBalancedDataset(Dataset):
    """Each image appears ``ceil(r(I))`` times per epoch (Gupta et al., LVIS, 2019).

    With f(c) the fraction of images that contain category c, r(c) = max(1, sqrt(t / f(c)))
    and r(I) = max of r(c) over the categories of image I (``dataset.get_cat_ids``).

    Args:
        dataset: a built dataset with ``get_cat_ids(idx)`` and ``CLASSES``.
        oversample_thr: t; categories at least this frequent are not oversampled.
        filter_empty_gt: images without boxes keep a factor of 1; when False they count as one
            more "background" category and may be oversampled too.
    """

    def __init__(self, dataset, oversample_thr: float, filter_empty_gt: bool = True):
        self.dataset = require_built(dataset, 'ClassBalancedDataset')
        self.oversample_thr = oversample_thr
        self.filter_empty_gt = filter_empty_gt
        self.CLASSES = dataset.CLASSES
        self.PALETTE = getattr(dataset, 'PALETTE', None)
        factors = self._get_repeat_factors(dataset, oversample_thr)
        counts = [int(math.ceil(f)) for f in factors]
        self.repeat_indices: List[int] = [i for i, n in enumerate(counts) for _ in range(n)]
        if hasattr(dataset, 'flag'):
            self.flag = np.repeat(np.asarray(dataset.flag, np.uint8), counts)

    def _image_categories(self, dataset, idx: int) -> set:
        cats = set(dataset.get_cat_ids(idx))
        if not cats and not self.filter_empty_gt:
            cats = {len(self.CLASSES)}  # the background pseudo-category
        return cats

    def _get_repeat_factors(self, dataset, repeat_thr: float) -> List[float]:
        """r(I) of every image (float, before rounding up)."""
        cats_per_image = [self._image_categories(dataset, i) for i in range(len(dataset))]
        freq = defaultdict(int)
        for cats in cats_per_image:
            for c in cats:
                freq[c] += 1
        repeat = {c: max(1.0, math.sqrt(repeat_thr / (n / len(dataset))))
                  for c, n in freq.items()}
        return [max(repeat[c] for c in cats) if cats else 1.0 for cats in cats_per_image]

    @property
    def metainfo(self) -> dict:
        return dict(classes=self.CLASSES)

    def __getitem__(self, idx: int):
        return self.dataset[self.repeat_indices[idx]]

    def get_ann_info(self, idx: int) -> dict:
        return self.dataset.get_ann_info(self.repeat_indices[idx])

    def get_cat_ids(self, idx: int) -> list:
        return self.dataset.get_cat_ids(self.repeat_indices[idx])

    def __len__(self) -> int:
        return len(self.repeat_indices)
