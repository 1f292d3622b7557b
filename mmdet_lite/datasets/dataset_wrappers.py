"""2.x dataset wrappers: ``RepeatDataset`` and ``ConcatDataset`` (keep ``flag`` and ``CLASSES``).

A wrapper takes built datasets; ``build_dataset`` (``builder.py``) builds the inner datasets of
a wrapper config first, so a wrapper never builds and never imports the builder.
"""
import bisect
from collections import OrderedDict
from typing import Any, Sequence

import numpy as np
from torch.utils.data import Dataset

from ..registry import DATASETS


def require_built(dataset: Any, wrapper: str) -> Any:
    """``dataset`` if it is built; a config dict is refused with the fix."""
    if isinstance(dataset, dict):
        raise TypeError(f'{wrapper} takes built datasets, got the config {dataset!r}; build the '
                        f'wrapper config with mmdet_lite.datasets.build_dataset(dict(type='
                        f"'{wrapper}', ...)), which builds its inner datasets first")
    return dataset


@DATASETS.register_module()
class RepeatDataset(Dataset):
    """``dataset`` repeated ``times`` (cheap long epochs for small datasets)."""

    def __init__(self, dataset, times: int):
        self.dataset = require_built(dataset, 'RepeatDataset')
        self.times = int(times)
        self.CLASSES = self.dataset.CLASSES
        self.PALETTE = getattr(self.dataset, 'PALETTE', None)
        if hasattr(self.dataset, 'flag'):
            self.flag = np.tile(self.dataset.flag, self.times)
        self._ori_len = len(self.dataset)

    @property
    def metainfo(self) -> dict:
        return dict(classes=self.CLASSES)

    def __getitem__(self, idx: int):
        return self.dataset[idx % self._ori_len]

    def get_cat_ids(self, idx: int) -> list:
        """Category ids of image ``idx`` of the repeated dataset."""
        return self.dataset.get_cat_ids(idx % self._ori_len)

    def get_ann_info(self, idx: int) -> dict:
        return self.dataset.get_ann_info(idx % self._ori_len)

    def __len__(self) -> int:
        return self.times * self._ori_len


@DATASETS.register_module()
class ConcatDataset(Dataset):
    """Datasets one after the other; ``evaluate`` scores each part (keys prefixed ``{i}_``)."""

    def __init__(self, datasets: Sequence, separate_eval: bool = True):
        self.datasets = [require_built(d, 'ConcatDataset') for d in datasets]
        if not self.datasets:
            raise ValueError('ConcatDataset needs at least one dataset')
        self.CLASSES = self.datasets[0].CLASSES
        self.PALETTE = getattr(self.datasets[0], 'PALETTE', None)
        self.separate_eval = separate_eval
        self.cumulative_sizes = np.cumsum([len(d) for d in self.datasets]).tolist()
        if all(hasattr(d, 'flag') for d in self.datasets):
            self.flag = np.concatenate([d.flag for d in self.datasets])

    @property
    def metainfo(self) -> dict:
        return dict(classes=self.CLASSES)

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def _locate(self, idx: int):
        """``(part, index in that part)`` of image ``idx``."""
        if idx < 0:
            idx += len(self)
        part = bisect.bisect_right(self.cumulative_sizes, idx)
        start = self.cumulative_sizes[part - 1] if part else 0
        return part, idx - start

    def __getitem__(self, idx: int):
        part, local = self._locate(idx)
        return self.datasets[part][local]

    def get_cat_ids(self, idx: int) -> list:
        """Category ids of image ``idx`` (2.x: what the class-aware samplers read)."""
        part, local = self._locate(idx)
        return self.datasets[part].get_cat_ids(local)

    def get_ann_info(self, idx: int) -> dict:
        part, local = self._locate(idx)
        return self.datasets[part].get_ann_info(local)

    def evaluate(self, results: list, logger=None, **kwargs) -> OrderedDict:
        if len(results) != len(self):
            raise ValueError(f'{len(results)} results for {len(self)} images')
        if not self.separate_eval:
            raise NotImplementedError('ConcatDataset evaluates each part separately; set '
                                      'separate_eval=True')
        out = OrderedDict()
        start = 0
        for i, (dataset, end) in enumerate(zip(self.datasets, self.cumulative_sizes)):
            part = dataset.evaluate(results[start:end], logger=logger, **kwargs)
            out.update({f'{i}_{k}': v for k, v in part.items()})
            start = end
        return out
