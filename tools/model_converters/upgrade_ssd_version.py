"""Upgrade an SSD checkpoint of mmdetection < 2.14 to the 2.x layout (extra layers and L2 norm
in the neck, head convs in Sequentials).

    python tools/model_converters/upgrade_ssd_version.py old_ssd300.pth new_ssd300.pth
"""
import argparse
from typing import List, Optional

from mmdet_lite.checkpoint import load_checkpoint_safely, save_checkpoint_atomic
from mmdet_lite.convert.model_version import upgrade_ssd_state_dict


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Upgrade SSD version')
    parser.add_argument('in_file', help='input checkpoint file')
    parser.add_argument('out_file', help='output checkpoint file')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> str:
    args = parse_args(argv)
    checkpoint = load_checkpoint_safely(args.in_file)
    if 'state_dict' not in checkpoint or 'meta' not in checkpoint:
        raise KeyError(f"{args.in_file!r} has no 'state_dict' and 'meta': upgrade_ssd_version "
                       'needs a full mmdetection checkpoint (meta holds the config)')
    checkpoint['state_dict'] = upgrade_ssd_state_dict(checkpoint['state_dict'],
                                                      checkpoint['meta'])
    save_checkpoint_atomic(checkpoint, args.out_file)
    print(f'saved {args.out_file}')
    return args.out_file


if __name__ == '__main__':
    main()
