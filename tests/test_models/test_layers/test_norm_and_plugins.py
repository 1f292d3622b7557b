"""norm_cfg / conv_cfg / plugin builders, SyncBN (one process and two CPU processes under
gloo), DropBlock."""
import os

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from mmcv.cnn import ConvModule, ContextBlock, GeneralizedAttention, NonLocal2d
from torch import nn

from mmdet_lite.models.layers import (DropBlock, SAConv2d, SyncBatchNorm, build_conv_layer,
                                      build_norm_layer, build_plugin_layer)


# single intra-op thread: on a loaded 2-core box threads make these tiny ops much slower
pytestmark = pytest.mark.usefixtures('one_thread')

def test_builders_resolve_2x_types_and_names():
    assert build_norm_layer(dict(type='BN'), 4, postfix=1)[0] == 'bn1'
    name, gn = build_norm_layer(dict(type='GN', num_groups=2), 4)
    assert name == 'gn' and isinstance(gn, nn.GroupNorm)
    name, sync = build_norm_layer(dict(type='SyncBN', requires_grad=False), 4, postfix=2)
    assert name == 'bn2' and type(sync) is SyncBatchNorm and not sync.weight.requires_grad
    assert isinstance(build_conv_layer(None, 2, 3, 1), nn.Conv2d)
    assert isinstance(build_conv_layer(dict(type='SAC', use_deform=True), 2, 3, 3), SAConv2d)
    for cfg, cls, abbr in [(dict(type='ContextBlock', ratio=0.25), ContextBlock, 'context_block'),
                           (dict(type='GeneralizedAttention'), GeneralizedAttention,
                            'gen_attention_block'),
                           (dict(type='NonLocal2d'), NonLocal2d, 'nonlocal_block'),
                           (dict(type='DropBlock', drop_prob=0.1, block_size=3), DropBlock,
                            'drop_block')]:
        name, layer = build_plugin_layer(cfg, in_channels=16, postfix='_x')
        assert name == abbr + '_x' and isinstance(layer, cls)


def test_mmcv_conv_module_finds_the_deformable_convs():
    """mmcv's ConvModule (used by 2.x heads, e.g. dcn_on_last_conv) builds 'DCNv2' in any
    registry scope."""
    module = ConvModule(4, 4, 3, padding=1, conv_cfg=dict(type='DCNv2'),
                        norm_cfg=dict(type='GN', num_groups=2))
    assert set(module.state_dict()) >= {'conv.weight', 'conv.conv_offset.weight', 'gn.weight'}


def test_builder_errors_name_the_fix():
    with pytest.raises(KeyError, match='DCNv2'):
        build_conv_layer(dict(type='DCNv3'), 2, 2, 3)
    with pytest.raises(KeyError, match='num_groups'):
        build_norm_layer(dict(type='GN'), 4)
    with pytest.raises(KeyError, match='ContextBlock'):
        build_plugin_layer(dict(type='ContextBlok'), in_channels=4)


def test_dropblock_drops_squares_in_training_only():
    torch.manual_seed(0)
    layer = DropBlock(drop_prob=0.3, block_size=3, warmup_iters=0)
    x = torch.ones(2, 4, 16, 16)
    layer.eval()
    assert layer(x) is x
    layer.train()
    out = layer(x)
    zeros = out == 0
    assert 0 < zeros.float().mean() < 0.9
    # kept values are rescaled so that the mean stays 1
    torch.testing.assert_close(out.mean(), torch.tensor(1.0), atol=1e-3, rtol=1e-3)
    with pytest.raises(ValueError, match='block_size'):
        layer(torch.ones(1, 1, 2, 2))


def test_syncbn_is_plain_batchnorm_in_one_process():
    torch.manual_seed(0)
    sync, bn = SyncBatchNorm(3), nn.BatchNorm2d(3)
    bn.load_state_dict(sync.state_dict())
    x = torch.randn(4, 3, 5, 5)
    torch.testing.assert_close(sync(x), bn(x))
    torch.testing.assert_close(sync.running_var, bn.running_var)


def _syncbn_worker(rank: int, world_size: int, init_file: str, x: torch.Tensor,
                   out_file: str) -> None:
    dist.init_process_group('gloo', init_method=f'file://{init_file}', rank=rank,
                            world_size=world_size)
    torch.manual_seed(0)
    layer = SyncBatchNorm(3)
    part = x.chunk(world_size)[rank].clone().requires_grad_(True)
    out = layer(part)
    (out * torch.arange(out.numel()).view_as(out)).sum().backward()
    gathered = [torch.empty_like(out) for _ in range(world_size)]
    grads = [torch.empty_like(part) for _ in range(world_size)]
    dist.all_gather(gathered, out.detach())
    dist.all_gather(grads, part.grad)
    if rank == 0:
        torch.save(dict(out=torch.cat(gathered), grad=torch.cat(grads),
                        running_mean=layer.running_mean, running_var=layer.running_var,
                        weight_grad=layer.weight.grad), out_file)
    dist.destroy_process_group()


def test_syncbn_synchronises_cpu_processes(tmp_path):
    """Two gloo processes with half a batch each give BatchNorm over the whole batch: outputs,
    input gradients and running statistics."""
    torch.manual_seed(1)
    x = torch.randn(4, 3, 5, 5) * 2 + 1
    out_file = str(tmp_path / 'out.pt')
    os.environ.setdefault('OMP_NUM_THREADS', '1')
    # fork: the workers need no fresh interpreter (spawn would re-import torch and mmdet_lite)
    mp.start_processes(_syncbn_worker, args=(2, str(tmp_path / 'init'), x, out_file), nprocs=2,
                       start_method='fork')
    got = torch.load(out_file)
    bn = nn.BatchNorm2d(3)
    full = x.clone().requires_grad_(True)
    out = bn(full)
    (out * torch.cat([torch.arange(out.numel() // 2)] * 2).view_as(out)).sum().backward()
    torch.testing.assert_close(got['out'], out.detach(), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(got['grad'], full.grad, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(got['running_mean'], bn.running_mean)
    torch.testing.assert_close(got['running_var'], bn.running_var)
