"""COCO error breakdown plots (C75, C50, Loc, Sim, Oth, BG, FN) per category and overall.

    python tools/test.py CONFIG CHECKPOINT --format-only --eval-options jsonfile_prefix=./res
    python tools/analysis_tools/coco_error_analysis.py res.bbox.json ./err \
        --ann data/coco/annotations/instances_val2017.json [--types bbox segm] [--extraplots]
    # -> ./err/bbox/bbox-<class>-{allarea,small,medium,large}.png, bbox-allclass-*.png
"""
from argparse import ArgumentParser
from typing import List, Optional

from mmdet_lite.analysis.coco_error_analysis import analyze_results


def parse_args(argv: Optional[List[str]] = None):
    parser = ArgumentParser(description='COCO Error Analysis Tool')
    parser.add_argument('result', help='result file (json format) path')
    parser.add_argument('out_dir', help='dir to save analyze result images')
    parser.add_argument('--ann', default='data/coco/annotations/instances_val2017.json',
                        help='annotation file path')
    parser.add_argument('--types', type=str, nargs='+', default=['bbox'], help='result types')
    parser.add_argument('--extraplots', action='store_true', help='export extra bar/stat plots')
    parser.add_argument('--areas', type=int, nargs='+', default=[1024, 9216, 10000000000],
                        help='area regions')
    parser.add_argument('--nproc', type=int, default=1,
                        help='processes for the per-category evaluations')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None):
    args = parse_args(argv)
    return analyze_results(args.result, args.ann, args.types, args.out_dir,
                           extraplots=args.extraplots, areas=args.areas, nproc=args.nproc)


if __name__ == '__main__':
    main()
