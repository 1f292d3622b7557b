"""build_dataset builds the inner datasets of wrapper configs; wrappers take built datasets."""
import numpy as np
import pytest

from mmdet_lite.datasets import ConcatDataset, RepeatDataset, build_dataset
from mmdet_lite.registry import DATASETS


@DATASETS.register_module(force=True)
class _TinyDataset:
    """``size`` items ``offset + i``, with a 2.x aspect-ratio ``flag``."""

    CLASSES = ('a', 'b')

    def __init__(self, size: int = 2, offset: int = 0, test_mode: bool = False):
        self.items = [offset + i for i in range(size)]
        self.flag = np.zeros(size, dtype=np.uint8)
        self.test_mode = test_mode

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, idx: int) -> int:
        return self.items[idx]


def test_wrapper_configs_build_inner_datasets_first():
    repeat = build_dataset(dict(type='RepeatDataset', times=3,
                                dataset=dict(type='_TinyDataset', size=2)),
                           default_args=dict(test_mode=True))
    assert isinstance(repeat, RepeatDataset) and len(repeat) == 6
    assert [repeat[i] for i in range(6)] == [0, 1, 0, 1, 0, 1]
    assert repeat.dataset.test_mode  # default_args reach the inner dataset, as in 2.x
    assert len(repeat.flag) == 6 and repeat.CLASSES == ('a', 'b')

    concat = build_dataset(dict(type='ConcatDataset', datasets=[
        dict(type='_TinyDataset', size=2),
        dict(type='RepeatDataset', times=2, dataset=dict(type='_TinyDataset', size=1,
                                                         offset=10))]))
    assert isinstance(concat, ConcatDataset)
    assert [concat[i] for i in range(len(concat))] == [0, 1, 10, 10]

    as_list = build_dataset([dict(type='_TinyDataset', size=1), dict(type='_TinyDataset',
                                                                       size=1, offset=5)])
    assert [as_list[0], as_list[1]] == [0, 5]


def test_wrapper_refuses_a_config_dict():
    with pytest.raises(TypeError, match='build_dataset'):
        RepeatDataset(dict(type='_TinyDataset'), times=2)
    with pytest.raises(TypeError, match='ConcatDataset takes built datasets'):
        ConcatDataset([dict(type='_TinyDataset')])
