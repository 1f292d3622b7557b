"""Aspect-ratio grouped sampling: every batch holds images of one ``dataset.flag`` group (2.x)."""
import math
from typing import Iterator, List, Optional

import numpy as np
import torch
from mmengine.dist import get_dist_info, sync_random_seed
from torch.utils.data import Sampler

from ...registry import DATA_SAMPLERS


@DATA_SAMPLERS.register_module()
class DistributedGroupSampler(Sampler):
    """Group sampler over ``num_replicas`` ranks; this rank yields its ``num_samples`` share.

    Each group is shuffled, padded by repetition to a multiple of
    ``samples_per_gpu * num_replicas``, cut into chunks of ``samples_per_gpu``, the chunks are
    shuffled, and rank r takes the r-th contiguous slice. The order depends only on
    ``seed + epoch``, so all ranks agree without communication.

    Args:
        dataset: has ``flag`` (ndarray (n,) of group ids); a dataset without one is one group.
        samples_per_gpu: batch size per rank.
        num_replicas, rank: default to mmengine's world size and rank.
        seed: shared random seed; ``None`` draws one and syncs it across ranks.
        shuffle: ``False`` keeps indices in group order (no randomness).
    """

    def __init__(self, dataset, samples_per_gpu: int = 1, num_replicas: Optional[int] = None,
                 rank: Optional[int] = None, seed: Optional[int] = None, shuffle: bool = True):
        if samples_per_gpu < 1:
            raise ValueError(f'samples_per_gpu must be >= 1, got {samples_per_gpu}')
        dist_rank, dist_world = get_dist_info()
        self.num_replicas = dist_world if num_replicas is None else num_replicas
        self.rank = dist_rank if rank is None else rank
        if not 0 <= self.rank < self.num_replicas:
            raise ValueError(f'rank {self.rank} is outside [0, {self.num_replicas})')
        self.dataset = dataset
        self.samples_per_gpu = samples_per_gpu
        self.seed = sync_random_seed() if seed is None else int(seed)
        self.shuffle = shuffle
        self.epoch = 0
        flag = getattr(dataset, 'flag', None)
        self.flag = (np.zeros(len(dataset), dtype=np.int64) if flag is None
                     else np.asarray(flag, dtype=np.int64))
        self.group_sizes = np.bincount(self.flag) if len(self.flag) else np.zeros(0, np.int64)
        chunk = self.samples_per_gpu * self.num_replicas
        self.num_samples = sum(int(math.ceil(size / chunk)) * self.samples_per_gpu
                               for size in self.group_sizes)
        self.total_size = self.num_samples * self.num_replicas

    def __iter__(self) -> Iterator[int]:
        g = torch.Generator()
        g.manual_seed(self.seed + self.epoch)
        chunk = self.samples_per_gpu * self.num_replicas
        indices: List[int] = []
        for group, size in enumerate(self.group_sizes):
            if size == 0:
                continue
            members = np.where(self.flag == group)[0]
            if self.shuffle:
                members = members[torch.randperm(int(size), generator=g).numpy()]
            members = members.tolist()
            padded_len = int(math.ceil(size / chunk)) * chunk
            # repeat the group's own indices so that no batch mixes groups
            indices.extend((members * (padded_len // size + 1))[:padded_len])
        num_chunks = len(indices) // self.samples_per_gpu
        order = (torch.randperm(num_chunks, generator=g).tolist() if self.shuffle
                 else list(range(num_chunks)))
        indices = [indices[j] for c in order
                   for j in range(c * self.samples_per_gpu, (c + 1) * self.samples_per_gpu)]
        offset = self.num_samples * self.rank
        return iter(indices[offset:offset + self.num_samples])

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Make the next ``__iter__`` use ``seed + epoch``."""
        self.epoch = epoch


@DATA_SAMPLERS.register_module()
class GroupSampler(DistributedGroupSampler):
    """2.x ``GroupSampler``: batches of one aspect-ratio group; splits across ranks when
    running distributed (mmengine's rank and world size)."""

    def __init__(self, dataset, samples_per_gpu: int = 1, seed: Optional[int] = None,
                 shuffle: bool = True):
        super().__init__(dataset, samples_per_gpu=samples_per_gpu, seed=seed, shuffle=shuffle)
