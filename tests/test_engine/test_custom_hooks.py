"""mmdetection 2.x custom hooks, the layer-decay optimizer constructor, paramwise_cfg
custom_keys and the checks of custom_hooks / log_config entries."""
import sys
import types
import warnings
from types import SimpleNamespace

import pytest
import torch
import torch.multiprocessing as mp
from mmengine.config import Config
from torch import nn

from mmdet_lite.engine import (CheckInvalidLossHook, MemoryProfilerHook, SetEpochInfoHook,
                               SyncNormHook, SyncRandomSizeHook, YOLOXModeSwitchHook,
                               runner_kwargs)
from mmdet_lite.engine.hooks_config import visualizer
from mmdet_lite.engine.schedules import optim_wrapper
from mmdet_lite.registry import OPTIM_WRAPPER_CONSTRUCTORS
from tests.test_engine.toy import toy_cfg


class _Logger:
    def __init__(self):
        self.lines = []

    def info(self, msg):
        self.lines.append(msg)

    warning = info


def _runner(**kw):
    base = dict(epoch=0, iter=0, max_epochs=3, max_iters=30, logger=_Logger(),
                model=nn.Linear(1, 1))
    base.update(kw)
    return SimpleNamespace(**base)


def test_check_invalid_loss_hook():
    hook = CheckInvalidLossHook(interval=2)
    runner = _runner(iter=0)
    hook.after_train_iter(runner, 0, outputs=dict(loss=torch.tensor(float('nan'))))  # 1st: no
    runner.iter = 1
    hook.after_train_iter(runner, 1, outputs=dict(loss=torch.tensor(1.0)))
    with pytest.raises(RuntimeError, match='infinite or NaN at iteration 2'):
        hook.after_train_iter(runner, 1, outputs=dict(loss=torch.tensor(float('inf'))))


def test_memory_profiler_hook_needs_psutil(monkeypatch):
    monkeypatch.setitem(sys.modules, 'psutil', None)  # import psutil -> ImportError
    with pytest.raises(ImportError, match='pip install psutil'):
        MemoryProfilerHook()


def test_memory_profiler_hook_logs_2x_message(monkeypatch):
    mb = 1024 * 1024
    fake = types.ModuleType('psutil')
    fake.virtual_memory = lambda: SimpleNamespace(available=300 * mb, used=700 * mb, percent=70.0)
    fake.swap_memory = lambda: SimpleNamespace(total=100 * mb, used=25 * mb, percent=25.0)
    fake.Process = lambda: SimpleNamespace(memory_info=lambda: SimpleNamespace(rss=42 * mb))
    monkeypatch.setitem(sys.modules, 'psutil', fake)
    hook = MemoryProfilerHook(interval=2)
    runner = _runner(iter=1)
    hook.after_train_iter(runner, 1)
    hook.after_val_iter(runner, 0)  # batch 1 of the val loop: not a multiple of 2
    assert runner.logger.lines == [
        'Memory information available_memory: 300 MB, used_memory: 700 MB, '
        'memory_utilization: 70.0 %, available_swap_memory: 75 MB, used_swap_memory: 25 MB, '
        'swap_memory_utilization: 25.0 %, current_process_memory: 42 MB']


def test_set_epoch_info_hook():
    model = nn.Linear(1, 1)
    model.set_epoch = lambda e: setattr(model, 'epoch', e)
    SetEpochInfoHook().before_train_epoch(_runner(epoch=4, model=model))
    assert model.epoch == 4
    with pytest.raises(AttributeError, match='set_epoch'):
        SetEpochInfoHook().before_train_epoch(_runner())


def test_yolox_mode_switch_errors_and_persistent_workers():
    class Mix(torch.utils.data.Dataset):
        skip = None

        def __len__(self):
            return 2

        def __getitem__(self, i):
            return i

        def update_skip_type_keys(self, keys):
            self.skip = list(keys)

    model = nn.Module()
    model.bbox_head = nn.Module()
    model.bbox_head.use_l1 = False
    hook = YOLOXModeSwitchHook(num_last_epochs=1)
    plain = torch.utils.data.DataLoader(list(range(2)))
    with pytest.raises(TypeError, match='MultiImageMixDataset'):
        hook.before_train_epoch(_runner(epoch=1, train_dataloader=plain, model=model))
    loader = torch.utils.data.DataLoader(Mix(), num_workers=1, persistent_workers=True)
    runner = _runner(epoch=0, train_dataloader=loader, model=model)
    hook.before_train_epoch(runner)  # epoch 1 of 3: nothing yet
    assert loader.dataset.skip is None and model.bbox_head.use_l1 is False
    runner.epoch = 1  # 1 + 1 == 3 - 1
    hook.before_train_epoch(runner)
    assert loader.dataset.skip == ['Mosaic', 'RandomAffine', 'MixUp']
    assert model.bbox_head.use_l1 is True
    assert loader._iterator is None and loader._DataLoader__initialized is False
    runner.epoch = 2
    hook.before_train_epoch(runner)
    assert loader._DataLoader__initialized is True
    with pytest.raises(AttributeError, match='bbox_head'):
        YOLOXModeSwitchHook(num_last_epochs=1).before_train_epoch(
            _runner(epoch=2, train_dataloader=loader, model=nn.Linear(1, 1)))


def test_sync_random_size_hook():
    with pytest.warns(UserWarning, match='deprecated'):
        hook = SyncRandomSizeHook(ratio_range=(2, 3), img_scale=(64, 32))
    with pytest.raises(TypeError, match='update_dynamic_scale'):
        hook.before_train(_runner(train_dataloader=SimpleNamespace(dataset=[])))
    sizes = []
    dataset = SimpleNamespace(update_dynamic_scale=sizes.append)
    runner = _runner(train_dataloader=SimpleNamespace(dataset=dataset))
    hook.before_train(runner)
    for _ in range(6):
        hook.after_train_epoch(runner)
    # 32 * size with size in [2, 3]; the height keeps img_scale's 1:2 ratio as 2.x computed it
    assert set(sizes) <= {(64, 32), (96, 32)} and len(sizes) == 6


def _sync_norm_worker(rank, init_file, out):
    torch.distributed.init_process_group('gloo', init_method=f'file://{init_file}', rank=rank,
                                         world_size=2)
    model = nn.Sequential(nn.Conv2d(1, 2, 1), nn.BatchNorm2d(2))
    with torch.no_grad():
        model[1].running_mean.fill_(float(rank))
        model[1].running_var.fill_(1.0 + 3 * rank)
        model[1].num_batches_tracked.fill_(5)
        model[0].weight.fill_(float(rank))  # not a norm layer: left alone
    hook = SyncNormHook(num_last_epochs=1, interval=2)
    hook.after_train_epoch(_runner(epoch=0, model=model))  # epoch 1, interval 2: no sync
    out[rank] = float(model[1].running_mean[0])
    hook.after_train_epoch(_runner(epoch=1, model=model))
    out[2 + rank] = float(model[1].running_mean[0])
    out[4 + rank] = float(model[1].running_var[1])
    out[6 + rank] = float(model[0].weight.flatten()[0]) + float(model[1].num_batches_tracked)
    torch.distributed.destroy_process_group()


def test_sync_norm_hook_averages_norm_states_over_two_ranks(tmp_path):
    out = mp.get_context('fork').Array('d', 8)
    mp.start_processes(_sync_norm_worker, args=(str(tmp_path / 'init'), out), nprocs=2,
                       start_method='fork')
    assert list(out) == [0.0, 1.0, 0.5, 0.5, 2.5, 2.5, 5.0, 6.0]
    # one process: nothing to synchronise
    model = nn.BatchNorm1d(2)
    SyncNormHook().after_train_epoch(_runner(epoch=0, model=model))


class ConvNeXt(nn.Module):
    """Parameter names of a ConvNeXt backbone: stem, 2 stages of 1 and 4 blocks."""

    def __init__(self):
        super().__init__()
        self.downsample_layers = nn.ModuleList([nn.Conv2d(1, 1, 1), nn.Conv2d(1, 1, 1)])
        self.stages = nn.ModuleList([nn.ModuleList([nn.Conv2d(1, 1, 1)]),
                                     nn.ModuleList([nn.Conv2d(1, 1, 1) for _ in range(4)])])


class _Detector(nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = ConvNeXt()
        self.neck = nn.Conv2d(1, 1, 1)


@pytest.mark.parametrize('decay_type', ['layer_wise', 'stage_wise'])
def test_learning_rate_decay_optimizer_constructor(decay_type):
    cfg = Config(dict(optimizer=dict(
        constructor='LearningRateDecayOptimizerConstructor', type='AdamW', lr=1.0,
        weight_decay=0.05,
        paramwise_cfg=dict(decay_rate=0.5, decay_type=decay_type, num_layers=6))))
    wrapper = optim_wrapper(cfg)
    constructor = OPTIM_WRAPPER_CONSTRUCTORS.build(dict(
        type=wrapper.pop('constructor'), paramwise_cfg=wrapper.pop('paramwise_cfg'),
        optim_wrapper_cfg=wrapper))
    groups = constructor(_Detector()).optimizer.param_groups
    lr = {(name, 'decay' if g['weight_decay'] else 'no'): g['lr']
          for g in groups for name in g['param_names']}
    # num_layers + 2 = 8 layers; lr = 0.5 ** (8 - id - 1); biases without weight decay
    if decay_type == 'layer_wise':
        ids = {'backbone.downsample_layers.0': 0, 'backbone.downsample_layers.1': 2,
               'backbone.stages.0.0': 1, 'backbone.stages.1.0': 2, 'backbone.stages.1.3': 2,
               'neck': 7}
    else:
        ids = {'backbone.downsample_layers.0': 0, 'backbone.downsample_layers.1': 0,
               'backbone.stages.0.0': 1, 'backbone.stages.1.0': 2, 'backbone.stages.1.3': 2,
               'neck': 7}
    for prefix, layer in ids.items():
        assert lr[(prefix + '.weight', 'decay')] == 0.5**(8 - layer - 1)
        assert lr[(prefix + '.bias', 'no')] == 0.5**(8 - layer - 1)
    assert {g['weight_decay'] for g in groups} == {0.0, 0.05}
    with pytest.raises(ValueError, match='ConvNeXt'):
        other = nn.Module()
        other.backbone = nn.Linear(1, 1)
        constructor(other)


def test_paramwise_cfg_custom_keys_of_a_transformer_config():
    # swin's optimizer (mask_rcnn_swin-t-p4-w7_fpn_1x_coco.py), on a stand-in module
    cfg = Config(dict(optimizer=dict(
        type='AdamW', lr=0.0001, betas=(0.9, 0.999), weight_decay=0.05,
        paramwise_cfg=dict(custom_keys={'absolute_pos_embed': dict(decay_mult=0.),
                                        'relative_position_bias_table': dict(decay_mult=0.),
                                        'norm': dict(decay_mult=0.)}))))
    model = nn.Module()
    model.backbone = nn.Module()
    model.backbone.absolute_pos_embed = nn.Parameter(torch.zeros(1, 2))
    model.backbone.norm1 = nn.LayerNorm(2)
    model.backbone.fc = nn.Linear(2, 2)
    wrapper = optim_wrapper(cfg)
    constructor = OPTIM_WRAPPER_CONSTRUCTORS.build(dict(
        type='DefaultOptimWrapperConstructor', paramwise_cfg=wrapper.pop('paramwise_cfg'),
        optim_wrapper_cfg=wrapper))
    groups = constructor(model).optimizer.param_groups
    by_param = {id(g['params'][0]): g['weight_decay'] for g in groups}
    assert by_param[id(model.backbone.absolute_pos_embed)] == 0
    assert by_param[id(model.backbone.norm1.weight)] == 0
    assert by_param[id(model.backbone.fc.weight)] == 0.05
    assert by_param[id(model.backbone.fc.bias)] == 0.05


def test_custom_hook_arguments_are_checked(tmp_path):
    cfg = Config(toy_cfg(str(tmp_path), custom_hooks=[dict(type='CheckInvalidLossHook',
                                                           intervall=5)]))
    with pytest.raises(KeyError, match=r"custom_hooks\[0\].*\['intervall'\]"):
        runner_kwargs(cfg)
    cfg = Config(toy_cfg(str(tmp_path), custom_hooks=[dict(interval=5)]))
    with pytest.raises(KeyError, match='type'):
        runner_kwargs(cfg)


def test_mmdet_wandb_hook_becomes_a_wandb_backend():
    cfg = Config(dict(log_config=dict(interval=50, hooks=[
        dict(type='TextLoggerHook'),
        dict(type='MMDetWandbHook', init_kwargs={'project': 'mmdetection'}, interval=50,
             log_checkpoint=True, log_checkpoint_metadata=True, num_eval_images=100)])))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        vis = visualizer(cfg)
    assert vis['vis_backends'][1] == dict(type='WandbVisBackend',
                                          init_kwargs={'project': 'mmdetection'})
    assert any('num_eval_images' in str(w.message) for w in caught)


def test_class_aware_sampler_maps_or_is_an_error(tmp_path, monkeypatch):
    from mmdet_lite.engine import dataloaders
    data = dict(toy_cfg('x')['data'], train_dataloader=dict(
        class_aware_sampler=dict(num_sample_class=2)))
    cfg = Config(toy_cfg(str(tmp_path), data=data))
    monkeypatch.setattr(dataloaders.DATA_SAMPLERS, 'get', lambda name: None)
    with pytest.raises(KeyError, match='class_aware_sampler.*remove the key'):
        dataloaders.dataloader(cfg, 'train', shuffle=True)
    monkeypatch.setattr(dataloaders.DATA_SAMPLERS, 'get', lambda name: object)
    loader = dataloaders.dataloader(cfg, 'train', shuffle=True)
    assert loader['sampler'] == dict(type='ClassAwareSampler', num_sample_class=2)
