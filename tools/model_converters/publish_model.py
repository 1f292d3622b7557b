"""Publish a trained checkpoint: drop optimizer / message hub / scheduler state, keep the
weights and meta (class names, config), and add the sha256 prefix to the file name.

    python tools/model_converters/publish_model.py work_dirs/x/epoch_12.pth mask_rcnn.pth
    # -> mask_rcnn-<first 8 hex digits of sha256>.pth
"""
import argparse
from typing import List, Optional

from mmdet_lite.convert.publish import publish_checkpoint


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Process a checkpoint to be published')
    parser.add_argument('in_file', help='input checkpoint filename')
    parser.add_argument('out_file', help='output checkpoint filename (the hash is appended)')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> str:
    args = parse_args(argv)
    final_file = publish_checkpoint(args.in_file, args.out_file)
    print(final_file)
    return final_file


if __name__ == '__main__':
    main()
