"""Convert Cityscapes gtFine instance annotations to COCO json (instancesonly_filtered_gtFine_*).

    python tools/dataset_converters/cityscapes.py data/cityscapes --nproc 8 \
        -o data/cityscapes/annotations

Reads ``*_gtFine_instanceIds.png`` as mmdetection 2.x, or rasterises ``*_gtFine_polygons.json``
when the png is absent (no cityscapesscripts needed). Splits without images are skipped.
"""
import argparse
import os
import os.path as osp
from multiprocessing import Pool
from typing import List, Optional

from mmdet_lite.convert.cityscapes_to_coco import collect_files, image_annotations, to_coco_json

SET_NAMES = dict(train='instancesonly_filtered_gtFine_train.json',
                 val='instancesonly_filtered_gtFine_val.json',
                 test='instancesonly_filtered_gtFine_test.json')


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Convert Cityscapes annotations to COCO format')
    parser.add_argument('cityscapes_path', help='cityscapes data path')
    parser.add_argument('--img-dir', default='leftImg8bit', type=str)
    parser.add_argument('--gt-dir', default='gtFine', type=str)
    parser.add_argument('-o', '--out-dir', help='output path')
    parser.add_argument('--nproc', default=1, type=int, help='number of process')
    return parser.parse_args(argv)


def _annotations(files: tuple) -> dict:
    return image_annotations(*files)


def main(argv: Optional[List[str]] = None) -> List[str]:
    """Returns the json files written."""
    args = parse_args(argv)
    out_dir = args.out_dir or args.cityscapes_path
    os.makedirs(out_dir, exist_ok=True)
    written = []
    for split, json_name in SET_NAMES.items():
        img_dir = osp.join(args.cityscapes_path, args.img_dir, split)
        if not osp.isdir(img_dir):
            print(f'{img_dir} does not exist, skip {split}')
            continue
        print(f'Converting {split} into {json_name}')
        files = collect_files(img_dir, osp.join(args.cityscapes_path, args.gt_dir, split))
        if args.nproc > 1:
            with Pool(args.nproc) as pool:
                infos = pool.map(_annotations, files)
        else:
            infos = [_annotations(f) for f in files]
        to_coco_json(infos, osp.join(out_dir, json_name))
        written.append(osp.join(out_dir, json_name))
    return written


if __name__ == '__main__':
    main()
