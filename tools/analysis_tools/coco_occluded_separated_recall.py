"""Recall of COCO occluded and separated masks (https://arxiv.org/abs/2210.10046).

    python tools/test.py configs/mask_rcnn_r50_fpn_1x.py CKPT --out results.pkl
    python tools/analysis_tools/coco_occluded_separated_recall.py results.pkl \
        --occluded-ann occluded_coco.pkl --separated-ann separated_coco.pkl --out recall.json

The two annotation files come from https://www.robots.ox.ac.uk/~vgg/research/tpod/ (2.x
downloads them; mmdet_lite never downloads).
"""
from argparse import ArgumentParser
from typing import List, Optional

import mmengine

from mmdet_lite.analysis.confusion_matrix import load_results
from mmdet_lite.analysis.occluded_recall import (load_occlusion_annotations,
                                                 occluded_separated_recall)
from mmdet_lite.datasets import CocoDataset


def parse_args(argv: Optional[List[str]] = None):
    parser = ArgumentParser(description='Compute recall of COCO occluded and separated masks '
                            'presented in paper https://arxiv.org/abs/2210.10046.')
    parser.add_argument('result', help='result file (pkl format) path')
    parser.add_argument('--out', help='file path to save evaluation results')
    parser.add_argument('--score-thr', type=float, default=0.3,
                        help='Score threshold for the recall calculation. Defaults to 0.3')
    parser.add_argument('--iou-thr', type=float, default=0.75,
                        help='IoU threshold for the recall calculation. Defaults to 0.75.')
    parser.add_argument('--ann', default='data/coco/annotations/instances_val2017.json',
                        help='coco annotation file path')
    parser.add_argument('--occluded-ann', default='data/coco/annotations/occluded_coco.pkl',
                        help='occluded_coco.pkl of the paper')
    parser.add_argument('--separated-ann', default='data/coco/annotations/separated_coco.pkl',
                        help='separated_coco.pkl of the paper')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> dict:
    args = parse_args(argv)
    results = load_results(args.result)
    dataset = CocoDataset(ann_file=args.ann, pipeline=[], test_mode=True)
    metrics = occluded_separated_recall(
        results, [info['filename'] for info in dataset.data_infos], dataset.CLASSES,
        load_occlusion_annotations(args.occluded_ann),
        load_occlusion_annotations(args.separated_ann), args.score_thr, args.iou_thr)
    if args.out is not None:
        mmengine.dump(metrics, args.out)
        print(f'Evaluation results have been saved to {args.out}.')
    return metrics


if __name__ == '__main__':
    main()
