"""Confusion matrix of saved test results against the test set's ground truth.

    python tools/test.py CONFIG CHECKPOINT --out results.pkl
    python tools/analysis_tools/confusion_matrix.py CONFIG results.pkl SAVE_DIR \
        [--score-thr 0.3] [--tp-iou-thr 0.5] [--nms-iou-thr 0.5]
"""
import argparse
import os.path as osp
from typing import List, Optional

import numpy as np
from mmengine.config import DictAction

from mmdet_lite.analysis.confusion_matrix import (calculate_confusion_matrix, load_results,
                                                  plot_confusion_matrix)
from mmdet_lite.apis import build_test_dataset, load_config


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Confusion matrix of detection results')
    parser.add_argument('config', help='config file path')
    parser.add_argument('prediction_path', help='results .pkl from tools/test.py --out')
    parser.add_argument('save_dir', help='folder for confusion_matrix.png and .npy')
    parser.add_argument('--show', action='store_true', help='open a window (needs a display)')
    parser.add_argument('--color-theme', default='plasma', help='matplotlib colour map')
    parser.add_argument('--score-thr', type=float, default=0.3,
                        help='ignore detections scoring below')
    parser.add_argument('--tp-iou-thr', type=float, default=0.5,
                        help='IoU for a detection to match a ground truth')
    parser.add_argument('--nms-iou-thr', type=float, default=None,
                        help='extra per-class NMS before matching (default: none)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings, key=value')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    results = load_results(args.prediction_path)
    dataset = build_test_dataset(cfg)
    matrix = calculate_confusion_matrix(dataset, results, args.score_thr, args.nms_iou_thr,
                                        args.tp_iou_thr)
    labels = list(dataset.CLASSES) + ['background']
    plot_confusion_matrix(matrix, labels, save_dir=args.save_dir,
                          color_theme=args.color_theme)
    np.save(osp.join(args.save_dir, 'confusion_matrix.npy'), matrix)
    print(f'\nsaved {osp.join(args.save_dir, "confusion_matrix.png")} and .npy '
          '(rows: ground truth, columns: prediction, last: background)')
    if args.show:
        import matplotlib.pyplot as plt
        plot_confusion_matrix(matrix, labels, color_theme=args.color_theme, fig=plt.figure())
        plt.show()


if __name__ == '__main__':
    main()
