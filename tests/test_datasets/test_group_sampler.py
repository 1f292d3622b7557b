"""GroupSampler / DistributedGroupSampler: one aspect group per batch, rank shares."""
import numpy as np

from mmdet_lite.datasets.samplers import DistributedGroupSampler, GroupSampler


class FakeDataset:
    def __init__(self, flag):
        self.flag = np.asarray(flag, dtype=np.uint8)

    def __len__(self):
        return len(self.flag)


FLAG = [0, 1, 0, 0, 1, 1, 1, 0, 1]  # 4 portrait, 5 landscape


def batches(indices, size):
    return [indices[i:i + size] for i in range(0, len(indices), size)]


def test_every_batch_has_one_group_and_all_indices_appear():
    ds = FakeDataset(FLAG)
    sampler = GroupSampler(ds, samples_per_gpu=2, seed=3)
    idx = list(sampler)
    assert len(idx) == len(sampler) == 10  # 4 + 6 (5 padded to a multiple of 2)
    assert set(idx) == set(range(9))
    for batch in batches(idx, 2):
        assert len({FLAG[i] for i in batch}) == 1


def test_seed_and_epoch_control_the_order():
    ds = FakeDataset(FLAG)
    a = GroupSampler(ds, samples_per_gpu=2, seed=3)
    b = GroupSampler(ds, samples_per_gpu=2, seed=3)
    assert list(a) == list(b)
    first = list(a)
    orders = set()
    for epoch in range(1, 5):
        a.set_epoch(epoch)
        orders.add(tuple(a))
    assert len(orders | {tuple(first)}) > 1
    no_shuffle = list(GroupSampler(ds, samples_per_gpu=2, seed=0, shuffle=False))
    assert no_shuffle == [0, 2, 3, 7, 1, 4, 5, 6, 8, 1]


def test_distributed_split_covers_the_dataset_without_overlap():
    ds = FakeDataset(FLAG)
    per_rank = [list(DistributedGroupSampler(ds, samples_per_gpu=2, num_replicas=2, rank=r,
                                             seed=5)) for r in range(2)]
    # each group padded to a multiple of 2 * 2: 4 + 8 = 12 indices, 6 per rank
    assert [len(p) for p in per_rank] == [6, 6]
    assert set(per_rank[0]) | set(per_rank[1]) == set(range(9))
    for part in per_rank:
        for batch in batches(part, 2):
            assert len({FLAG[i] for i in batch}) == 1
    # the ranks slice one shared permutation: 3 + 3 padded copies in total
    counts = np.bincount(per_rank[0] + per_rank[1], minlength=9)
    assert counts.sum() == 12 and counts.min() >= 1


def test_dataset_without_flag_is_one_group():
    class NoFlag:
        def __len__(self):
            return 5
    idx = list(GroupSampler(NoFlag(), samples_per_gpu=2, seed=0))
    assert len(idx) == 6 and set(idx) == set(range(5))
