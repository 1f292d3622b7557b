"""torchvision ImageNet weights of MobileNetV2 and Swin (v1) → mmdet_lite's backbone names.

* ``mobilenet_v2`` (any ``width_mult``): the same layers in the same order (torchvision's
  ``_make_divisible`` is mmdet's ``make_divisible``), only the names differ:
  ``features.0`` → ``conv1``; ``features.1`` .. ``features.17`` → ``layer1.0`` .. ``layer7.0``
  (the block counts of ``MobileNetV2.arch_settings``), inside a block ``conv.0`` (expand),
  ``conv.1`` (depth-wise), ``conv.2`` + ``conv.3`` (linear conv + its BN) → ``expand_conv``,
  ``depthwise_conv``, ``linear_conv`` (``conv.0``, ``conv.1`` + ``conv.2`` for the first block,
  which has no expand conv); ``features.18`` → ``conv2``; the classifier is dropped. The
  converted weights reproduce torchvision's features exactly.
* ``swin_t`` / ``swin_s`` / ``swin_b`` (not the v2 models): mapped to the original Swin
  release's names, which ``SwinTransformer(convert_weights=True)`` loads through
  ``swin_converter`` (as it loads ``swin_*_patch4_window7_224.pth``): ``features.0.0`` /
  ``features.0.2`` → ``patch_embed.proj`` / ``patch_embed.norm``; ``features.{2i+1}.{j}`` →
  ``layers.{i}.blocks.{j}`` (``mlp.0`` / ``mlp.3`` → ``mlp.fc1`` / ``mlp.fc2``);
  ``features.{2i+2}`` → ``layers.{i}.downsample``; the final ``norm`` stays ``norm`` (2.x loads
  it nowhere: the per-stage output norms ``norm0``.. start fresh, as with the original release).
  Forward equality holds where every stage's map is larger than the window: torchvision skips
  the shift on maps that fit in one window, mmdetection shifts (with its mask) anyway.

Both expect torchvision's input normalisation: RGB with ImageNet's mean/std, mmdet_lite's
default ``img_norm_cfg``.
"""
import re
from collections import OrderedDict
from typing import Dict, Mapping, Sequence

from torch import Tensor

_MBV2_STAGE_BLOCKS = (1, 2, 3, 4, 3, 3, 1)  # MobileNetV2.arch_settings' num_blocks
# block parts: the first block (expand ratio 1) has no expand conv
_MBV2_FIRST_BLOCK = {'conv.0.0': 'depthwise_conv.conv', 'conv.0.1': 'depthwise_conv.bn',
                     'conv.1': 'linear_conv.conv', 'conv.2': 'linear_conv.bn'}
_MBV2_BLOCK = {'conv.0.0': 'expand_conv.conv', 'conv.0.1': 'expand_conv.bn',
               'conv.1.0': 'depthwise_conv.conv', 'conv.1.1': 'depthwise_conv.bn',
               'conv.2': 'linear_conv.conv', 'conv.3': 'linear_conv.bn'}
_SWIN_BLOCK = re.compile(r'^features\.(\d+)\.(\d+)\.(.+)$')
_SWIN_MERGE = re.compile(r'^features\.(\d+)\.(reduction|norm)\.(.+)$')


def _mobilenet_v2_block_names(stage_blocks: Sequence[int]) -> Dict[int, str]:
    names, index = {}, 1
    for stage, count in enumerate(stage_blocks):
        for block in range(count):
            names[index] = f'layer{stage + 1}.{block}'
            index += 1
    return names


def convert_mobilenet_v2_state_dict(state_dict: Mapping[str, Tensor]
                                    ) -> 'OrderedDict[str, Tensor]':
    """torchvision ``mobilenet_v2`` state dict → ``MobileNetV2`` state dict (module docstring)."""
    blocks = _mobilenet_v2_block_names(_MBV2_STAGE_BLOCKS)
    last = max(blocks) + 1
    converted = OrderedDict()
    for key, value in state_dict.items():
        if key.startswith('classifier.'):
            continue
        parts = key.split('.')
        if parts[0] != 'features':
            raise KeyError(f'{key!r} is not a torchvision mobilenet_v2 key')
        index = int(parts[1])
        if index in (0, last):
            layer = 'conv1' if index == 0 else 'conv2'
            converted[f'{layer}.{"conv" if parts[2] == "0" else "bn"}.{parts[3]}'] = value
            continue
        if index not in blocks:
            raise KeyError(f'{key!r}: torchvision mobilenet_v2 has blocks features.1..'
                           f'features.{last - 1}')
        parts_map = _MBV2_FIRST_BLOCK if index == 1 else _MBV2_BLOCK
        inner = '.'.join(parts[2:-1])
        if inner not in parts_map:
            raise KeyError(f'{key!r}: unknown part {inner!r} of a torchvision mobilenet_v2 '
                           'block')
        converted[f'{blocks[index]}.{parts_map[inner]}.{parts[-1]}'] = value
    return converted


def convert_swin_state_dict(state_dict: Mapping[str, Tensor]) -> 'OrderedDict[str, Tensor]':
    """torchvision ``swin_t``/``swin_s``/``swin_b`` state dict → the original Swin release's
    names (load with ``SwinTransformer(convert_weights=True)``; module docstring)."""
    converted = OrderedDict()
    for key, value in state_dict.items():
        if key.startswith('head.'):
            continue
        if key.startswith('features.0.'):
            rest = key[len('features.0.'):]
            layer, param = rest.split('.', 1)
            name = {'0': 'patch_embed.proj', '2': 'patch_embed.norm'}.get(layer)
            if name is None:
                raise KeyError(f'{key!r} is not a torchvision Swin patch-embedding key')
            converted[f'{name}.{param}'] = value
        elif _SWIN_MERGE.match(key):
            index, part, param = _SWIN_MERGE.match(key).groups()
            converted[f'layers.{int(index) // 2 - 1}.downsample.{part}.{param}'] = value
        elif _SWIN_BLOCK.match(key):
            index, block, rest = _SWIN_BLOCK.match(key).groups()
            rest = rest.replace('mlp.0.', 'mlp.fc1.').replace('mlp.3.', 'mlp.fc2.')
            converted[f'layers.{(int(index) - 1) // 2}.blocks.{block}.{rest}'] = value
        elif key.startswith('norm.'):
            converted[key] = value
        else:
            raise KeyError(f'{key!r} is not a torchvision Swin (v1) key; swin_v2_* weights do '
                           'not fit mmdetection 2.x\'s SwinTransformer')
    return converted
