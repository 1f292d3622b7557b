"""Time COCO evaluation steps side by side on a synthetic result set of realistic size.

Mask RLE encoding (2.x's per-mask calls vs mmdet_lite's vectorised encoder) and
``CocoDataset.evaluate(metric=['bbox', 'segm'])`` with pycocotools vs faster-coco-eval::

    python tools/analysis_tools/eval_benchmark.py --num-images 200 --shape 480 640 --dets 100
"""
import argparse

from mmdet_lite.analysis.eval_benchmark import format_eval_benchmark, run_eval_benchmark


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Benchmark COCO evaluation')
    parser.add_argument('--num-images', type=int, default=200, help='images in the set')
    parser.add_argument('--shape', type=int, nargs=2, default=[480, 640], metavar=('H', 'W'),
                        help='image (and mask) size')
    parser.add_argument('--dets', type=int, default=100, help='detections per image')
    parser.add_argument('--gts', type=int, default=7, help='ground-truth objects per image')
    parser.add_argument('--seed', type=int, default=0)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    print(format_eval_benchmark(run_eval_benchmark(args.num_images, args.shape, args.dets,
                                                   args.gts, args.seed)))


if __name__ == '__main__':
    main()
