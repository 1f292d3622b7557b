"""Parameter count and FLOPs of a detector for one input size.

    python tools/analysis_tools/get_flops.py CONFIG [--shape H W] [--size-divisor 32]
"""
import argparse
from typing import List, Optional

from mmengine.config import DictAction

from mmdet_lite.analysis.flops import human_count, model_complexity, padded_input_shape
from mmdet_lite.apis import init_detector


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Count parameters and FLOPs of a detector')
    parser.add_argument('config', help='config file path')
    parser.add_argument('--shape', type=int, nargs='+', default=[1280, 800],
                        help='input image size: H W, or S for S x S')
    parser.add_argument('--size-divisor', type=int, default=32,
                        help='pad the size to a multiple of this (0: no padding)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings, key=value')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    input_shape = padded_input_shape(args.shape, args.size_divisor)
    model = init_detector(args.config, checkpoint=None, device='cpu',
                          cfg_options=args.cfg_options)
    info = model_complexity(model, input_shape)
    line = '=' * 40
    print(f'{line}\nInput shape: {input_shape}')
    print(f'Counted: {info["counted"]}')
    print(f'Flops: {human_count(info["flops"], "FLOPs")} '
          f'({human_count(info["flops"] / 2, "MACs")}, what mmcv calls FLOPs)')
    print(f'Params: {human_count(info["params"])}')
    for name, params in info['params_per_module'].items():
        flops = info['flops_per_module'].get(name, 0)
        if params == 0 and flops == 0:
            continue
        print(f'  {name}: {human_count(params)} params, {human_count(flops, "FLOPs")}')
    print(f'{line}\nNMS and RoIAlign (torchvision.ops) are not counted; check that the '
          'numbers fit your use before quoting them in a paper.')


if __name__ == '__main__':
    main()
