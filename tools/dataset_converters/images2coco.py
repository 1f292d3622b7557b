"""Convert a folder of images to a COCO json without annotations.

    python tools/dataset_converters/images2coco.py data/unlabelled/images classes.txt test.json
    # -> data/unlabelled/annotations/test.json (classes.txt: one class name per line)
"""
import argparse
import os
import os.path as osp
from typing import List, Optional

import mmengine

from mmdet_lite.convert.images_to_coco import collect_image_infos, image_infos_to_coco


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Convert images to coco format without annotations')
    parser.add_argument('img_path', help='The root path of images')
    parser.add_argument('classes', type=str, help='The text file name of storage class list')
    parser.add_argument('out', type=str,
                        help='The output annotation json file name, The save dir is in the '
                        'same directory as img_path')
    parser.add_argument('-e', '--exclude-extensions', type=str, nargs='+',
                        help='The suffix of images to be excluded, such as "png" and "bmp"')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> str:
    """Returns the json written."""
    args = parse_args(argv)
    if not args.out.endswith('json'):
        raise ValueError(f'The output file name must be json suffix, got {args.out!r}')
    if not osp.isfile(args.classes):
        raise FileNotFoundError(f'class list {args.classes!r} does not exist')
    with open(args.classes) as f:
        classes = [line.strip() for line in f if line.strip()]
    coco = image_infos_to_coco(collect_image_infos(args.img_path, args.exclude_extensions),
                               classes)
    save_dir = osp.join(args.img_path, '..', 'annotations')
    os.makedirs(save_dir, exist_ok=True)
    save_path = osp.join(save_dir, args.out)
    mmengine.dump(coco, save_path)
    print(f'save json file: {save_path}')
    return save_path


if __name__ == '__main__':
    main()
