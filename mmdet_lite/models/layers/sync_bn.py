"""``SyncBatchNorm`` for norm type ``'SyncBN'``: batch statistics over all processes.

torch's ``nn.SyncBatchNorm`` already acts as plain BatchNorm in a single process (CPU or GPU)
and synchronises on GPU under DDP, but raises on CPU under DDP (gloo). This subclass keeps its
state dict and GPU path and adds the CPU/DDP case: per-channel sums, sums of squares and counts
are all-reduced (``torch.distributed.nn.functional.all_reduce``, differentiable, so the
gradient is the one of the global batch, as the GPU kernel's).
"""
import torch
import torch.distributed as dist
from torch import Tensor, nn
from torch.distributed.nn.functional import all_reduce

from ...registry import MODELS


@MODELS.register_module('SyncBN')
class SyncBatchNorm(nn.SyncBatchNorm):
    """``nn.SyncBatchNorm`` that also synchronises CPU tensors under DDP; same arguments."""

    _abbr_ = 'bn'

    def _syncs_on_cpu(self, x: Tensor) -> bool:
        if not (self.training and x.device.type == 'cpu' and dist.is_available()
                and dist.is_initialized()):
            return False
        group = self.process_group or dist.group.WORLD
        return dist.get_world_size(group) > 1

    def forward(self, x: Tensor) -> Tensor:
        """(N, C, ...) -> (N, C, ...)."""
        if not self._syncs_on_cpu(x):
            return super().forward(x)
        self._check_input_dim(x)
        channels = x.size(1)
        dims = [0] + list(range(2, x.dim()))
        local = torch.cat([x.sum(dims), (x * x).sum(dims), x.new_full((1, ), x.numel() / channels)])
        total = all_reduce(local, group=self.process_group or dist.group.WORLD)
        count = total[-1]
        mean = total[:channels] / count
        var = (total[channels:2 * channels] / count - mean * mean).clamp(min=0)
        if self.track_running_stats:
            self.num_batches_tracked.add_(1)
            factor = (1.0 / float(self.num_batches_tracked) if self.momentum is None
                      else self.momentum)
            with torch.no_grad():
                unbiased = var * count / (count - 1).clamp(min=1)
                self.running_mean.mul_(1 - factor).add_(factor * mean)
                self.running_var.mul_(1 - factor).add_(factor * unbiased)
        shape = (1, channels) + (1, ) * (x.dim() - 2)
        out = (x - mean.view(shape)) * torch.rsqrt(var.view(shape) + self.eps)
        if self.affine:
            out = out * self.weight.view(shape) + self.bias.view(shape)
        return out
