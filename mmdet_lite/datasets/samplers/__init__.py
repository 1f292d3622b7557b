from .group_sampler import DistributedGroupSampler, GroupSampler

__all__ = ['DistributedGroupSampler', 'GroupSampler']
