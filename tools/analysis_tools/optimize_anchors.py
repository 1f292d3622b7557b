"""Optimize YOLO anchors for a dataset (k-means or differential evolution).

    python tools/analysis_tools/optimize_anchors.py configs/yolov3_d53_mstrain-608_273e.py \
        --algorithm k-means --input-shape 608 608 --iters 1000 --output-dir work_dirs/anchors
    # prints the anchors (w, h) sorted by area and writes anchor_optimize_result.json; put them
    # into bbox_head.anchor_generator.base_sizes, largest three first.
"""
import argparse
from typing import List, Optional

import numpy as np
from mmengine.config import DictAction

from mmdet_lite.analysis.anchor_optimizer import (YOLODEAnchorOptimizer,
                                                  YOLOKMeansAnchorOptimizer, anchor_mismatch)
from mmdet_lite.apis import load_config
from mmdet_lite.apis.builder import default_device
from mmdet_lite.datasets import build_dataset


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Optimize anchor parameters.')
    parser.add_argument('config', help='Train config file path.')
    parser.add_argument('--device', default=default_device(), help='Device used for calculating.')
    parser.add_argument('--input-shape', type=int, nargs='+', default=[608, 608],
                        help='input image size')
    parser.add_argument('--algorithm', default='differential_evolution',
                        help='Algorithm used for anchor optimizing. Support k-means and '
                        'differential_evolution for YOLO.')
    parser.add_argument('--iters', default=1000, type=int,
                        help='Maximum iterations for optimizer.')
    parser.add_argument('--output-dir', default=None, type=str,
                        help='Path to save anchor optimize result.')
    parser.add_argument('--seed', default=None, type=int,
                        help='random seed of the optimizer (default: not seeded)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings, key=value')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None):
    """Returns ``(anchors sorted by area, mismatch of the config's anchors, of the new)``."""
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    generator = cfg.model.bbox_head.get('anchor_generator', {})
    if generator.get('type') != 'YOLOAnchorGenerator':
        raise ValueError(f"Only support optimize YOLOAnchor, but get {generator.get('type')} "
                         f'in {args.config} (model.bbox_head.anchor_generator.type)')
    base_sizes = generator['base_sizes']
    num_anchors = sum(len(sizes) for sizes in base_sizes)
    train_cfg = cfg.data.train
    while 'dataset' in train_cfg:
        train_cfg = train_cfg['dataset']
    dataset = build_dataset(train_cfg)
    common = dict(dataset=dataset, input_shape=args.input_shape, device=args.device,
                  num_anchors=num_anchors, iters=args.iters, out_dir=args.output_dir,
                  seed=args.seed)
    if args.algorithm == 'k-means':
        optimizer = YOLOKMeansAnchorOptimizer(**common)
    elif args.algorithm == 'differential_evolution':
        optimizer = YOLODEAnchorOptimizer(**common)
    else:
        raise ValueError(f'Only support k-means and differential_evolution, but get '
                         f'{args.algorithm}')
    anchors = optimizer.optimize()
    old = np.asarray([size for level in base_sizes for size in level], np.float32)
    before = anchor_mismatch(optimizer.bbox_whs, old, args.device)
    after = anchor_mismatch(optimizer.bbox_whs, anchors, args.device)
    print(f'anchor/GT mismatch (1 - mean best IoU): config {before:.4f} -> optimized '
          f'{after:.4f}')
    return anchors, before, after


if __name__ == '__main__':
    main()
