"""Export a detector to ONNX (the graph contract: mmdet_lite/deployment/onnx_contract.py).

    python tools/deployment/pytorch2onnx.py CONFIG CHECKPOINT --output-file OUT.onnx \\
        [--input-img IMG] [--shape H W] [--dynamic-export] [--verify] [--simplify]

The graph takes the normalised, padded batch (N, 3, H, W) and returns ``dets`` (N, K, 5),
``labels`` (N, K) and, for Mask R-CNN, ``masks`` (N, K, 28, 28); K is the test_cfg's
max_per_img. ``--verify`` runs ONNX Runtime and PyTorch on the same input (and, with
``--dynamic-export``, on a batch of two at another size) and compares the detections. Needs the
``deploy`` extra: ``pip install -e ".[deploy]"``.
"""
import argparse
import sys
from typing import List, Optional

import torch
from mmengine.config import DictAction

from mmdet_lite.apis import init_detector
from mmdet_lite.deployment.onnx_export import export_detector, prepare_input
from mmdet_lite.deployment.onnx_verify import verify_onnx


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Export an mmdet_lite detector to ONNX')
    parser.add_argument('config', help='model config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--output-file', default='tmp.onnx', help='the .onnx file to write')
    parser.add_argument('--input-img', default=None,
                        help='image traced through the graph and used by --verify (default: a '
                        'random image, a weak check: it may have no detection)')
    parser.add_argument('--shape', type=int, nargs=2, metavar=('H', 'W'), default=None,
                        help='resize the image to exactly H x W (default: the test pipeline\'s '
                        'own resize and padding)')
    parser.add_argument('--dynamic-export', action='store_true',
                        help='batch, height and width dynamic')
    parser.add_argument('--verify', action='store_true',
                        help='compare ONNX Runtime with PyTorch on the same input')
    parser.add_argument('--simplify', action='store_true', help='simplify with onnxslim')
    parser.add_argument('--opset-version', type=int, default=None,
                        help='ONNX opset (default: the exporter\'s)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, key=value (e.g. '
                        'model.test_cfg.rcnn.max_per_img=50)')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    model = init_detector(args.config, args.checkpoint, device='cpu',
                          cfg_options=args.cfg_options)
    shape = tuple(args.shape) if args.shape else None
    example = prepare_input(model, args.input_img, shape)
    try:
        result = export_detector(model, example, args.output_file, dynamic=args.dynamic_export,
                                 opset=args.opset_version, simplify=args.simplify)
    except (ImportError, NotImplementedError) as error:
        print(f'pytorch2onnx: {error}', file=sys.stderr)
        return 1
    meta = result.metadata
    print(f'wrote {result.output_file} in {result.seconds:.1f} s: {meta.detector}, input '
          f'{list(meta.input_shape)}{" (dynamic N, H, W)" if meta.dynamic else ""}, '
          f'K={meta.max_per_img}, masks={meta.with_masks}, opset {meta.opset}')
    if not args.verify:
        return 0
    inputs = [example]
    if args.dynamic_export:
        # another size (3/4 of the example's) and a batch of two
        h, w = example.shape[2:]
        other = prepare_input(model, args.input_img, (h * 3 // 4, w * 3 // 4))
        inputs.append(torch.cat([other, torch.flip(other, dims=[3])]))
    ok = True
    for img, parity in zip(inputs, verify_onnx(model, args.output_file, inputs)):
        print(f'verify {list(img.shape)}: {parity}')
        ok = ok and parity.ok
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
