"""Convert a self-supervised (MoCo / SwAV) ResNet checkpoint for a detector's backbone.

    python tools/model_converters/selfsup2mmdet.py moco_v2_800ep.pth.tar moco_r50.pth \
        --selfsup moco
    # then backbone=dict(init_cfg=dict(type='Pretrained', checkpoint='moco_r50.pth'))
"""
import argparse
from typing import List, Optional

from mmdet_lite.checkpoint import load_checkpoint_safely, save_checkpoint_atomic
from mmdet_lite.convert.selfsup_convert import convert_moco_state_dict


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Convert model keys')
    parser.add_argument('src', help='src self-supervised checkpoint path')
    parser.add_argument('dst', help='save path')
    parser.add_argument('--selfsup', type=str, choices=['moco', 'swav'], required=True,
                        help='the self-supervised method that made the checkpoint')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> Optional[str]:
    args = parse_args(argv)
    if args.selfsup == 'swav':
        print('SWAV does not need to convert the keys')
        return None
    checkpoint = load_checkpoint_safely(args.src)
    state_dict = convert_moco_state_dict(checkpoint.get('state_dict', checkpoint))
    save_checkpoint_atomic(dict(state_dict=state_dict), args.dst)
    print(f'saved {len(state_dict)} tensors to {args.dst}')
    return args.dst


if __name__ == '__main__':
    main()
