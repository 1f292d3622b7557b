"""ImageNet RegNetX weights from torchvision or pycls → mmdet_lite's ``RegNet`` names.

Both have RegNetX's structure exactly (3x3/2 stem, then stages of 1x1 → grouped 3x3 → 1x1
bottlenecks with a 1x1 projection shortcut in the first block); only the names differ:

torchvision (``regnet_x_3_2gf``, ...) → pycls (``RegNetX-3.2GF``) → mmdet_lite / 2.x:

* ``stem.0`` / ``stem.1`` → ``stem.conv`` / ``stem.bn`` → ``conv1`` / ``bn1``
* ``trunk_output.block{s}.block{s}-{b}.proj.0`` / ``.proj.1`` → ``s{s}.b{b+1}.proj`` /
  ``s{s}.b{b+1}.bn`` → ``layer{s}.{b}.downsample.0`` / ``.downsample.1``
* ``...f.a.0`` / ``f.a.1`` (``f.b.*``, ``f.c.*``) → ``f.a`` / ``f.a_bn`` → ``conv1`` / ``bn1``
  (``conv2``/``bn2``, ``conv3``/``bn3``)
* ``fc`` → ``head.fc`` → dropped

torchvision's 800MF, 1.6GF, 3.2GF and 8GF have ``arch_settings``' widths (its 16GF/32GF those of
the dict archs with its parameters); its 400MF does not (last stage 400 wide, pycls's 384).

The input normalisation differs: torchvision's weights expect RGB images with ImageNet's mean/std
(mmdet_lite's default ``img_norm_cfg``), pycls's (``open-mmlab://regnetx_*``) BGR with pycls's
(``mean=[103.53, 116.28, 123.675], std=[57.375, 57.12, 58.395], to_rgb=False``).
"""
import re
from collections import OrderedDict
from typing import Dict, Mapping

from torch import Tensor

_TORCHVISION_BLOCK = re.compile(r'^trunk_output\.block(\d+)\.block\d+-(\d+)\.(.+)$')
_PYCLS_BLOCK = re.compile(r'^s(\d+)\.b(\d+)\.(.+)$')
_TORCHVISION_PARTS = {'proj.0': 'downsample.0', 'proj.1': 'downsample.1', 'f.a.0': 'conv1',
                      'f.a.1': 'bn1', 'f.b.0': 'conv2', 'f.b.1': 'bn2', 'f.c.0': 'conv3',
                      'f.c.1': 'bn3'}
_PYCLS_PARTS = {'proj': 'downsample.0', 'bn': 'downsample.1', 'f.a': 'conv1', 'f.a_bn': 'bn1',
                'f.b': 'conv2', 'f.b_bn': 'bn2', 'f.c': 'conv3', 'f.c_bn': 'bn3'}


def _block_key(layer: str, block: int, rest: str, parts: Dict[str, str], key: str) -> str:
    module, _, param = rest.rpartition('.')
    if module not in parts:
        raise KeyError(f'RegNet key {key!r}: unknown block part {module!r}; expected one of '
                       f'{sorted(parts)}')
    return f'layer{layer}.{block}.{parts[module]}.{param}'


def convert_regnet_state_dict(state_dict: Mapping[str, Tensor]) -> 'OrderedDict[str, Tensor]':
    """Rename a torchvision or pycls RegNetX state dict (classifier dropped) for ``RegNet``."""
    out: 'OrderedDict[str, Tensor]' = OrderedDict()
    for key, value in state_dict.items():
        if key.startswith(('fc.', 'head.')):
            continue
        if key.startswith('stem.'):
            _, module, param = key.split('.')
            name = {'0': 'conv1', 'conv': 'conv1', '1': 'bn1', 'bn': 'bn1'}.get(module)
            if name is None:
                raise KeyError(f'RegNet key {key!r}: unknown stem part {module!r}')
            out[f'{name}.{param}'] = value
            continue
        tv, pycls = _TORCHVISION_BLOCK.match(key), _PYCLS_BLOCK.match(key)
        if tv:
            out[_block_key(tv.group(1), int(tv.group(2)), tv.group(3), _TORCHVISION_PARTS,
                           key)] = value
        elif pycls:
            out[_block_key(pycls.group(1), int(pycls.group(2)) - 1, pycls.group(3),
                           _PYCLS_PARTS, key)] = value
        else:
            raise KeyError(f'{key!r} is neither a torchvision (trunk_output.block...) nor a pycls '
                           '(s1.b1...) RegNet key; is this a RegNetX checkpoint?')
    return out
