"""Convert torchvision ImageNet MobileNetV2 / Swin (v1) weights to mmdet_lite backbone names.

Examples (torchvision's files, pair them with RGB ImageNet normalisation)::

    python tools/model_converters/torchvision_backbone2mmdet.py mobilenet_v2 \
        mobilenet_v2-b0353104.pth mobilenet_v2_tv.pth
    # backbone=dict(type='MobileNetV2', init_cfg=dict(type='Pretrained',
    #     checkpoint='mobilenet_v2_tv.pth'))
    python tools/model_converters/torchvision_backbone2mmdet.py swin \
        swin_t-704ceda3.pth swin_t_tv.pth
    # backbone=dict(type='SwinTransformer', convert_weights=True, init_cfg=dict(
    #     type='Pretrained', checkpoint='swin_t_tv.pth'))
"""
import argparse
import os.path as osp
from typing import List, Optional

from mmdet_lite.checkpoint import load_checkpoint_safely, save_checkpoint_atomic
from mmdet_lite.convert.torchvision_backbones import (convert_mobilenet_v2_state_dict,
                                                      convert_swin_state_dict)

CONVERTERS = {'mobilenet_v2': convert_mobilenet_v2_state_dict, 'swin': convert_swin_state_dict}


def main(argv: Optional[List[str]] = None) -> str:
    """Convert ``src`` to ``dst``; returns ``dst``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('arch', choices=sorted(CONVERTERS), help='torchvision network family')
    parser.add_argument('src', help="torchvision's state dict file")
    parser.add_argument('dst', help='output checkpoint path ({"state_dict": ...})')
    args = parser.parse_args(argv)
    if not osp.isfile(args.src):
        raise FileNotFoundError(f'torchvision checkpoint {args.src} does not exist')
    converted = CONVERTERS[args.arch](load_checkpoint_safely(args.src))
    save_checkpoint_atomic(dict(state_dict=converted), args.dst)
    print(f'saved {len(converted)} tensors to {args.dst}')
    return args.dst


if __name__ == '__main__':
    main()
