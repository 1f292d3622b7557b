"""Inference speed of a detector in PyTorch and in the deployment engines, side by side:

``python tools/deployment/benchmark.py CONFIG CHECKPOINT --onnx MODEL.onnx
[--int8 MODEL_int8.onnx] [--engines pytorch ort ort-int8 openvino] [--num-images 5]
[--shape 800 1216 | --image-dir DIR] [--threads T] [--out table.md]``

Every image runs through every engine before the next one (mmdet_lite.deployment.speed), so
the ratios hold on a machine whose load varies; the table gives median/min/max ms per image
(test pipeline + network + post-processing), each engine's median over PyTorch's and the median
over images of its time over PyTorch's on the same image (robust to a load that changes between
images).
"""
import argparse
import glob
import os
import os.path as osp

import torch

from mmdet_lite.apis import init_detector
from mmdet_lite.deployment.backends import build_backend_detector
from mmdet_lite.deployment.speed import (interleaved_times, paired_ratios, speed_rows,
                                         speed_table, synthetic_images)

ENGINES = ('pytorch', 'ort', 'ort-int8', 'openvino', 'openvino-int8')
LABELS = {'pytorch': 'PyTorch eager (mmdet_lite)', 'ort': 'ONNX Runtime fp32',
          'ort-int8': 'ONNX Runtime int8', 'openvino': 'OpenVINO fp32',
          'openvino-int8': 'OpenVINO int8 (same QDQ graph)'}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='PyTorch vs ONNX Runtime vs OpenVINO speed')
    parser.add_argument('config', help='the config the graphs were exported from')
    parser.add_argument('checkpoint', help='the weights the graphs were exported with')
    parser.add_argument('--onnx', required=True, help='fp32 graph (pytorch2onnx.py)')
    parser.add_argument('--int8', help='int8 graph (quantize.py); needed by ort-int8 and '
                        'openvino-int8')
    parser.add_argument('--engines', nargs='+', choices=ENGINES,
                        default=['pytorch', 'ort', 'ort-int8', 'openvino'])
    parser.add_argument('--num-images', type=int, default=5, help='timed images (>= 5)')
    parser.add_argument('--shape', type=int, nargs=2, default=[800, 1216],
                        metavar=('H', 'W'), help='size of the synthetic images')
    parser.add_argument('--image-dir', help='time these images (*.jpg, *.png) instead')
    parser.add_argument('--threads', type=int, default=None,
                        help='threads of every engine (default: torch.get_num_threads())')
    parser.add_argument('--out', help='also write the markdown table here')
    args = parser.parse_args(argv)
    if args.num_images < 1:
        parser.error('--num-images must be >= 1')
    if any(e.endswith('int8') for e in args.engines) and not args.int8:
        parser.error('ort-int8/openvino-int8 need --int8 MODEL_int8.onnx (tools/deployment/'
                     'quantize.py)')
    return args


def main(argv=None):
    args = parse_args(argv)
    threads = args.threads or torch.get_num_threads()
    torch.set_num_threads(threads)
    if args.image_dir:
        images = sorted(glob.glob(osp.join(args.image_dir, '*.jpg')) +
                        glob.glob(osp.join(args.image_dir, '*.png')))[:args.num_images]
        if not images:
            raise FileNotFoundError(f'no *.jpg/*.png image in --image-dir {args.image_dir!r}')
    else:
        images = synthetic_images(args.num_images, *args.shape)
    detectors = {}
    for engine in args.engines:
        if engine == 'pytorch':
            model = init_detector(args.config, args.checkpoint, device='cpu')
        else:
            backend = 'onnxruntime' if engine.startswith('ort') else 'openvino'
            graph = args.int8 if engine.endswith('int8') else args.onnx
            model = build_backend_detector(args.config, graph, backend, num_threads=threads)
        detectors[LABELS[engine]] = model
    load_before = os.getloadavg()[0]
    times = interleaved_times(detectors, images)
    reference = LABELS['pytorch'] if 'pytorch' in args.engines else None
    table = speed_table(speed_rows(times), reference,
                        paired_ratios(times, reference) if reference else None)
    print(f'{len(images)} images, {threads} threads, torch {torch.__version__}, load average '
          f'{load_before:.1f} before and {os.getloadavg()[0]:.1f} after the timed runs')
    print(table)
    for name, seconds in times.items():
        print(f'{name} ms per image: {[round(t * 1e3) for t in seconds]}')
    if args.out:
        with open(args.out, 'w') as f:
            f.write(table + '\n')
    return times


if __name__ == '__main__':
    main()
