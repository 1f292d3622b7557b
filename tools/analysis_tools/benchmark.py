"""Inference latency of a detector, optionally against the equivalent torchvision model.

Example (Mask R-CNN R50-FPN at 800x1216 on CPU, 5 timed images after 1 warm-up; also
``faster_rcnn_r50_fpn_tv.py`` and ``retinanet_r50_fpn_tv.py``; ``--batch-size 2`` times
2-image batches; ``--compare-variants`` adds the model without speed-ups)::

    python tools/analysis_tools/benchmark.py configs/torchvision/mask_rcnn_r50_fpn_tv.py \
        --compare-torchvision --shape 800 1216 --num-images 5 --warmup 1 --device cpu

Training iterations (batch 2, also against mmdetection 2.28 when its oracle venv exists)::

    python tools/analysis_tools/benchmark.py configs/torchvision/mask_rcnn_r50_fpn_tv.py \
        --train --compare-torchvision --mmdet2-python auto --shape 512 768 --num-iters 3
"""
import argparse

from mmdet_lite.analysis.benchmark import (MMDET_VARIANTS, TIMERS, format_benchmark,
                                           run_benchmark)
from mmdet_lite.analysis.train_benchmark import format_train_benchmark, run_train_benchmark
from mmdet_lite.core.utils.precision import PRECISIONS


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Benchmark inference latency')
    parser.add_argument('config', help='model config file')
    parser.add_argument('checkpoint', nargs='?', default=None,
                        help='mmdet_lite checkpoint or torchvision state dict (default: '
                             'seeded random weights with boosted class scores)')
    parser.add_argument('--compare-torchvision', action='store_true',
                        help='also time torchvision\'s model with the same weights and inputs')
    parser.add_argument('--shape', type=int, nargs=2, default=[800, 1216], metavar=('H', 'W'),
                        help='input size (already resized and padded)')
    parser.add_argument('--num-images', type=int, default=3, help='timed images')
    parser.add_argument('--warmup', type=int, default=1, help='untimed images first')
    parser.add_argument('--device', default='cpu', help="'cpu' or 'cuda'")
    parser.add_argument('--threads', type=int, default=None,
                        help='torch.set_num_threads (default: leave as is)')
    parser.add_argument('--fuse-conv-bn', action=argparse.BooleanOptionalAction, default=True,
                        help='fold eval-mode BN into the convs of mmdet_lite\'s model (default on, '
                             'as init_detector, tools/test.py and, for frozen BN, tools/train.py)')
    parser.add_argument('--channels-last', action=argparse.BooleanOptionalAction, default=None,
                        help='NHWC conv weights in mmdet_lite\'s model (default: on for CPU)')
    parser.add_argument('--precision', choices=PRECISIONS, default='fp32',
                        help='autocast where the hardware runs it natively (else fp32)')
    parser.add_argument('--force-precision', action='store_true',
                        help='autocast to --precision even without native support')
    parser.add_argument('--compare-variants', action='store_true',
                        help='also time mmdet_lite without speed-ups, with BN folding only and '
                             'with channels_last only (copies of the same model); with --train: '
                             'also without the training speed-ups')
    parser.add_argument('--timer', choices=sorted(TIMERS), default='wall',
                        help='wall-clock time, or CPU time of this process (less affected by '
                             'other processes on a shared machine)')
    parser.add_argument('--seed', type=int, default=0, help='seed of inputs and random weights')
    train = parser.add_argument_group(
        'training (--train): forward + backward + SGD step per iteration, mmdet_lite vs '
        'torchvision (with --compare-torchvision) and mmdetection 2.28 (with --mmdet2-python); '
        '--shape, --warmup, --threads, --seed, --fuse-conv-bn and --channels-last (the '
        'config key training_speed) apply, CPU only')
    train.add_argument('--train', action='store_true', help='time training iterations')
    train.add_argument('--batch-size', type=int, default=None,
                       help='images per training iteration (default 2) or per inference batch '
                            '(default 1)')
    train.add_argument('--num-iters', type=int, default=3, help='timed iterations')
    train.add_argument('--num-gts', type=int, default=8, help='objects per image')
    train.add_argument('--mmdet2-python', default=None,
                       help="python of the mmdetection 2.28 oracle venv, or 'auto' "
                            '($MMDET2_VENV/bin/python, default /tmp/mmdet2_venv, if present)')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if args.train:
        if args.device != 'cpu':
            raise SystemExit('--train times CPU training only; leave out --device')
        report = run_train_benchmark(
            args.config, args.checkpoint, shape=args.shape, batch_size=args.batch_size or 2,
            num_iters=args.num_iters, warmup=args.warmup, num_gts=args.num_gts,
            compare_torchvision=args.compare_torchvision, mmdet2_python=args.mmdet2_python,
            threads=args.threads, seed=args.seed,
            training_speed=dict(fold_frozen_bn=args.fuse_conv_bn,
                                channels_last=args.channels_last),
            compare_plain=args.compare_variants)
        print(format_train_benchmark(report))
        return
    report = run_benchmark(args.config, args.checkpoint, args.compare_torchvision,
                           shape=args.shape, num_images=args.num_images, warmup=args.warmup,
                           device=args.device, threads=args.threads, seed=args.seed,
                           fuse_conv_bn=args.fuse_conv_bn, channels_last=args.channels_last,
                           precision=args.precision, force_precision=args.force_precision,
                           batch_size=args.batch_size or 1, timer=args.timer,
                           variants=list(MMDET_VARIANTS) if args.compare_variants else ())
    print(format_benchmark(report))


if __name__ == '__main__':
    main()
