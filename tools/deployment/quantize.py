"""Static int8 quantisation of an exported detector, calibrated on the config's images:

``python tools/deployment/quantize.py MODEL.onnx CONFIG --calib-images N
--output-file OUT_int8.onnx [--calib-split train|val|test] [--fp32-scopes REGEX ...]``
"""
import argparse

from mmengine.config import DictAction

from mmdet_lite.apis import load_config
from mmdet_lite.deployment.onnx_contract import read_metadata
from mmdet_lite.deployment.quantize import (CALIBRATE_METHODS, FP32_SCOPES, QUANT_SCOPES,
                                            calibration_batches, quantize_onnx)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='int8-quantise an exported detector (ONNX)')
    parser.add_argument('model', help='fp32 graph from tools/deployment/pytorch2onnx.py')
    parser.add_argument('config', help='the config the graph was exported from')
    parser.add_argument('--output-file', required=True, help='the int8 graph (.onnx)')
    parser.add_argument('--calib-images', type=int, default=32,
                        help='number of calibration images (default 32)')
    parser.add_argument('--calib-split', default='train', choices=['train', 'val', 'test'],
                        help='data split of the config to calibrate on (default train)')
    parser.add_argument('--calib-method', default='minmax', choices=CALIBRATE_METHODS,
                        help='activation range estimation (default minmax)')
    parser.add_argument('--activation-type', default='uint8', choices=['uint8', 'int8'],
                        help='activation type (default uint8; weights are int8 per channel)')
    parser.add_argument('--quant-scopes', nargs='+', default=list(QUANT_SCOPES),
                        help='regexes of the module paths quantised (default: %(default)s)')
    parser.add_argument('--fp32-scopes', nargs='+', default=list(FP32_SCOPES),
                        help='regexes of the module paths kept fp32 (default: %(default)s)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings: key=value, a.b=1, k="[1,2]"')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    metadata = read_metadata(args.model)
    batches = calibration_batches(cfg, args.calib_images, metadata, args.calib_split)
    report = quantize_onnx(args.model, args.output_file, batches,
                           quant_scopes=args.quant_scopes, fp32_scopes=args.fp32_scopes,
                           calibrate_method=args.calib_method,
                           activation_type=args.activation_type)
    kept = sorted(set(report.selection.fp32_scopes.values()))
    print(f'int8 graph: {report.output_file} ({len(report.selection.quantized)} nodes int8, '
          f'{len(report.selection.fp32)} candidate nodes fp32; calibrated on '
          f'{report.num_calib_batches} images of data.{args.calib_split})')
    if kept:
        print('kept fp32 (prediction layers): ' + ', '.join(kept))
    return report


if __name__ == '__main__':
    main()
