"""Upgrade a checkpoint of mmdetection 0.x/1.x to the 2.x layout mmdet_lite loads.

    python tools/model_converters/upgrade_model_version.py old.pth new.pth --num-classes 81

What is renamed / reordered: mmdet_lite/convert/model_version.py. The model's config is read
from the checkpoint's meta without running it.
"""
import argparse
from typing import List, Optional

from mmdet_lite.checkpoint import load_checkpoint_safely, save_checkpoint_atomic
from mmdet_lite.convert.model_version import upgrade_state_dict


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Upgrade model version')
    parser.add_argument('in_file', help='input checkpoint file')
    parser.add_argument('out_file', help='output checkpoint file')
    parser.add_argument('--num-classes', type=int, default=81,
                        help='number of classes of the original model')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> str:
    args = parse_args(argv)
    checkpoint = load_checkpoint_safely(args.in_file)
    if 'state_dict' not in checkpoint or 'meta' not in checkpoint:
        raise KeyError(f"{args.in_file!r} has no 'state_dict' and 'meta': upgrade_model_version "
                       'needs a full mmdetection checkpoint (meta holds the config and version)')
    state_dict = checkpoint.pop('state_dict')
    checkpoint['state_dict'] = upgrade_state_dict(state_dict, checkpoint['meta'],
                                                  args.num_classes)
    changed = sorted(set(checkpoint['state_dict']) - set(state_dict))
    print(f'renamed {len(changed)} keys; saved {args.out_file}')
    save_checkpoint_atomic(checkpoint, args.out_file)
    return args.out_file


if __name__ == '__main__':
    main()
