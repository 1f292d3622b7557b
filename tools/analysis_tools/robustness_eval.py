"""Aggregate a corruption benchmark into P / mPC / rPC.

    python tools/analysis_tools/robustness_eval.py work_dirs/robust_results.pkl \
        --dataset coco --task bbox segm --prints P mPC rPC --aggregate benchmark
"""
from argparse import ArgumentParser
from typing import List, Optional

from mmdet_lite.analysis.robustness import COCO_METRICS
from mmdet_lite.analysis.robustness_eval import get_results


def parse_args(argv: Optional[List[str]] = None):
    parser = ArgumentParser(description='Corruption Result Analysis')
    parser.add_argument('filename', help='result file path')
    parser.add_argument('--dataset', type=str, choices=['coco', 'voc', 'cityscapes'],
                        default='coco', help='dataset type')
    parser.add_argument('--task', type=str, nargs='+', choices=['bbox', 'segm'],
                        default=['bbox'], help='task to report')
    parser.add_argument('--metric', nargs='+', choices=list(COCO_METRICS), default=None,
                        help='metric to report')
    parser.add_argument('--prints', type=str, nargs='+', choices=['P', 'mPC', 'rPC'],
                        default='mPC', help='corruption benchmark metric to print')
    parser.add_argument('--aggregate', type=str, choices=['all', 'benchmark'],
                        default='benchmark',
                        help='aggregate all results or only those for benchmark corruptions')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> dict:
    """Returns the table (corruptions, 6 severities, metrics) per task."""
    args = parse_args(argv)
    return {task: get_results(args.filename, dataset=args.dataset, task=task,
                              metric=args.metric, prints=args.prints, aggregate=args.aggregate)
            for task in args.task}


if __name__ == '__main__':
    main()
