"""mmdetection 2.x's LearningRateDecayOptimizerConstructor (layer-wise lr decay for ConvNeXt)
on mmengine's optimizer-wrapper constructor."""
from typing import List

from mmengine.logging import print_log
from mmengine.optim import DefaultOptimWrapperConstructor
from torch import nn

from ..registry import OPTIM_WRAPPER_CONSTRUCTORS


def convnext_layer_id(name: str, max_layer_id: int) -> int:
    """Layer id of a ConvNeXt detector's parameter for ``decay_type='layer_wise'``: the stem
    and stage 0 are the lowest, stage 2's blocks count in threes, the neck/heads the highest."""
    if name in ('backbone.cls_token', 'backbone.mask_token', 'backbone.pos_embed'):
        return 0
    if name.startswith('backbone.downsample_layers'):
        return {0: 0, 1: 2, 2: 3}.get(int(name.split('.')[2]), max_layer_id)
    if name.startswith('backbone.stages'):
        stage, block = int(name.split('.')[2]), int(name.split('.')[3])
        return {0: 1, 1: 2, 2: 3 + block // 3}.get(stage, max_layer_id)
    return max_layer_id + 1


def convnext_stage_id(name: str, max_stage_id: int) -> int:
    """Stage id of a parameter for ``decay_type='stage_wise'``."""
    if name in ('backbone.cls_token', 'backbone.mask_token', 'backbone.pos_embed'):
        return 0
    if name.startswith('backbone.downsample_layers'):
        return 0
    if name.startswith('backbone.stages'):
        return int(name.split('.')[2]) + 1
    return max_stage_id - 1


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class LearningRateDecayOptimizerConstructor(DefaultOptimWrapperConstructor):
    """``optimizer=dict(constructor='LearningRateDecayOptimizerConstructor', paramwise_cfg=
    dict(decay_rate=r, decay_type='layer_wise'|'stage_wise', num_layers=n), ...)``.

    With ``L = num_layers + 2``, a parameter of layer (stage) id ``i`` gets ``lr = base_lr * r **
    (L - i - 1)``; 1-d parameters, biases and ``pos_embed``/``cls_token`` get no weight decay,
    the others the optimizer's. The groups carry ``lr_scale``, ``group_name`` and
    ``param_names`` as in 2.x. Only ConvNeXt backbones have layer ids (as in 2.x).
    """

    def add_params(self, params: List[dict], module: nn.Module, **kwargs) -> None:
        cfg = self.paramwise_cfg
        for key in ('num_layers', 'decay_rate'):
            if key not in cfg:
                raise KeyError(f'LearningRateDecayOptimizerConstructor needs '
                               f'optimizer.paramwise_cfg.{key} (got {dict(cfg)})')
        decay_type = cfg.get('decay_type', 'layer_wise')
        if decay_type not in ('layer_wise', 'stage_wise'):
            raise ValueError("optimizer.paramwise_cfg.decay_type must be 'layer_wise' or "
                             f"'stage_wise', got {decay_type!r}")
        backbone = type(getattr(module, 'backbone', None)).__name__
        if 'ConvNeXt' not in backbone:
            raise ValueError('LearningRateDecayOptimizerConstructor supports ConvNeXt backbones '
                             f'only (as mmdetection 2.x), got {backbone}')
        num_layers = cfg['num_layers'] + 2
        groups = {}
        for name, param in module.named_parameters():
            if not param.requires_grad:
                continue
            if param.ndim == 1 or name.endswith('.bias') or name in ('pos_embed', 'cls_token'):
                decay, weight_decay = 'no_decay', 0.
            else:
                decay, weight_decay = 'decay', self.base_wd
            if decay_type == 'layer_wise':
                layer_id = convnext_layer_id(name, cfg['num_layers'])
            else:
                layer_id = convnext_stage_id(name, num_layers)
            group_name = f'layer_{layer_id}_{decay}'
            if group_name not in groups:
                scale = cfg['decay_rate']**(num_layers - layer_id - 1)
                groups[group_name] = dict(weight_decay=weight_decay, params=[], param_names=[],
                                          lr_scale=scale, group_name=group_name,
                                          lr=scale * self.base_lr)
            groups[group_name]['params'].append(param)
            groups[group_name]['param_names'].append(name)
        print_log(f'LearningRateDecayOptimizerConstructor ({decay_type}, rate '
                  f"{cfg['decay_rate']}, {num_layers} layers): "
                  + ', '.join(f"{k}: lr {g['lr']:.3g} x{len(g['params'])}"
                              for k, g in groups.items()), logger='current')
        params.extend(groups.values())
