"""Self-supervised ResNet checkpoints → mmdet_lite ``ResNet`` names (2.x
``tools/model_converters/selfsup2mmdet.py``).

* MoCo (v1/v2, facebookresearch/moco ``checkpoint_*.pth.tar``): the query encoder
  ``module.encoder_q.*`` is a torchvision ResNet: the prefix is stripped; its projection head
  ``fc.*`` is dropped (2.x keeps it, and loading then reports it as unexpected); the key encoder
  and the queue are dropped.
* SwAV: already torchvision names; nothing to convert (as 2.x).
"""
from collections import OrderedDict
from typing import Mapping

from torch import Tensor

__all__ = ['convert_moco_state_dict']

MOCO_PREFIX = 'module.encoder_q.'


def convert_moco_state_dict(state_dict: Mapping[str, Tensor]) -> 'OrderedDict[str, Tensor]':
    """The backbone of MoCo's query encoder, in ``ResNet`` names."""
    out: 'OrderedDict[str, Tensor]' = OrderedDict(
        (key[len(MOCO_PREFIX):], value) for key, value in state_dict.items()
        if key.startswith(MOCO_PREFIX) and not key.startswith(MOCO_PREFIX + 'fc.'))
    if not out:
        raise KeyError(f'no {MOCO_PREFIX}* key: this is not a MoCo checkpoint (keys start with '
                       f'{sorted({k.split(".")[0] for k in state_dict})})')
    return out
