"""Convert ImageNet RegNetX weights (torchvision or pycls) to mmdet_lite ``RegNet`` names.

Example (torchvision's regnet_x_3_2gf; pair it with RGB ImageNet normalisation)::

    python tools/model_converters/regnet2mmdet.py regnet_x_3_2gf-f342aeae.pth regnetx_3.2gf_tv.pth
    # then in the config: backbone=dict(type='RegNet', arch='regnetx_3.2gf',
    #     init_cfg=dict(type='Pretrained', checkpoint='regnetx_3.2gf_tv.pth'))
"""
import argparse
import os.path as osp
from typing import List, Optional

from mmdet_lite.checkpoint import load_checkpoint_safely, save_checkpoint_atomic
from mmdet_lite.convert.regnet_convert import convert_regnet_state_dict


def main(argv: Optional[List[str]] = None) -> str:
    """Convert ``src`` to ``dst``; returns ``dst``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('src', help='torchvision state dict or pycls checkpoint (model_state)')
    parser.add_argument('dst', help='output checkpoint path ({"state_dict": ...})')
    args = parser.parse_args(argv)
    if not osp.isfile(args.src):
        raise FileNotFoundError(f'RegNet checkpoint {args.src} does not exist')
    checkpoint = load_checkpoint_safely(args.src)
    state_dict = checkpoint.get('model_state', checkpoint) if isinstance(checkpoint, dict) \
        else checkpoint
    converted = convert_regnet_state_dict(state_dict)
    save_checkpoint_atomic(dict(state_dict=converted), args.dst)
    print(f'saved {len(converted)} tensors to {args.dst}')
    return args.dst


if __name__ == '__main__':
    main()
