"""Convert PASCAL VOC annotations to mmdetection's middle format (.pkl) or COCO json.

    python tools/dataset_converters/pascal_voc.py data/VOCdevkit -o data/voc_coco --out-format coco

Writes voc07_{train,val,trainval,test}, voc12_{train,val,trainval} and voc0712_* (when both
years are there) for every split whose image list exists.
"""
import argparse
import os
import os.path as osp
from typing import List, Optional

import mmengine

from mmdet_lite.convert.voc_to_coco import (middle_format_to_coco, voc_split_annotations,
                                            voc_year_sets)

PREFIXES = {'2007': 'voc07', '2012': 'voc12'}


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Convert PASCAL VOC annotations to mmdetection format')
    parser.add_argument('devkit_path', help='pascal voc devkit path')
    parser.add_argument('-o', '--out-dir', help='output path')
    parser.add_argument('--out-format', default='pkl', choices=('pkl', 'coco'),
                        help='output format, "coco" indicates coco annotation format')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> List[str]:
    """Returns the files written."""
    args = parse_args(argv)
    out_dir = args.out_dir or args.devkit_path
    os.makedirs(out_dir, exist_ok=True)
    ext = '.json' if args.out_format == 'coco' else '.pkl'
    written = []
    for years in voc_year_sets(args.devkit_path):
        prefix = 'voc0712' if isinstance(years, list) else PREFIXES[years]
        splits = ['train', 'val', 'trainval'] + ([] if isinstance(years, list) else ['test'])
        for split in splits:
            first = years[0] if isinstance(years, list) else years
            lists = [osp.join(args.devkit_path, f'VOC{y}', 'ImageSets', 'Main', f'{split}.txt')
                     for y in (years if isinstance(years, list) else [first])]
            missing = [p for p in lists if not osp.isfile(p)]
            if missing:
                print(f'filelist does not exist: {missing[0]}, skip {prefix} {split}')
                continue
            print(f'processing {prefix}_{split} ...')
            annotations = voc_split_annotations(args.devkit_path, years, split)
            out_file = osp.join(out_dir, f'{prefix}_{split}{ext}')
            mmengine.dump(middle_format_to_coco(annotations) if ext == '.json' else annotations,
                          out_file)
            written.append(out_file)
    print('Done!')
    return written


if __name__ == '__main__':
    main()
