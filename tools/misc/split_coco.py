"""K-Fold coco split.

To split coco data for semi-supervised object detection:
    python tools/misc/split_coco.py --data-root data/coco --out-dir data/coco_semi_annos \
        --labeled-percent 1 5 10 --fold 5

For every fold k in 1..fold (k is the seed) and every percent p writes
``instances_train2017.{k}@{p}.json`` (p % of the images of annotations/instances_train2017.json)
and ``instances_train2017.{k}@{p}-unlabeled.json`` (the other images).
"""
import argparse
import os
import os.path as osp
from typing import List, Optional

import mmengine

from mmdet_lite.convert.coco_split import split_coco_annotations, split_names


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--data-root', type=str, help='The data root of coco dataset.',
                        default='./data/coco/')
    parser.add_argument('--out-dir', type=str, default='./data/coco_semi_annos/',
                        help='The output directory of coco semi-supervised annotations.')
    parser.add_argument('--labeled-percent', type=float, nargs='+', default=[1, 2, 5, 10],
                        help='The percentage of labeled data in the training set.')
    parser.add_argument('--fold', type=int, default=5,
                        help='K-fold cross validation for semi-supervised object detection.')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> List[str]:
    """Returns the files written."""
    args = parse_args(argv)
    ann_file = osp.join(args.data_root, 'annotations', 'instances_train2017.json')
    if not osp.isfile(ann_file):
        raise FileNotFoundError(f'{ann_file!r} does not exist (--data-root is the folder '
                                'holding annotations/instances_train2017.json)')
    coco = mmengine.load(ann_file)
    os.makedirs(args.out_dir, exist_ok=True)
    written = []
    for fold in range(1, args.fold + 1):
        for percent in args.labeled_percent:
            parts = split_coco_annotations(coco, percent, seed=fold)
            for name, part in zip(split_names(fold, percent), parts):
                path = osp.join(args.out_dir, f'{name}.json')
                mmengine.dump(part, path)
                written.append(path)
    print(f'wrote {len(written)} files to {args.out_dir}')
    return written


if __name__ == '__main__':
    main()
