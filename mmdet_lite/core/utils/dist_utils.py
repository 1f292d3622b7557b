"""Distributed helpers (no-ops when not distributed)."""
import torch
from mmengine import dist
from torch import Tensor


def reduce_mean(tensor: Tensor) -> Tensor:
    """Mean of ``tensor`` over all processes; returns a new tensor, the input is untouched.

    Outside distributed training it returns ``tensor`` itself, as mmdetection 2.x does.
    """
    if dist.get_world_size() <= 1:
        return tensor
    tensor = tensor.clone()
    torch.distributed.all_reduce(tensor.div_(dist.get_world_size()),
                                 op=torch.distributed.ReduceOp.SUM)
    return tensor
