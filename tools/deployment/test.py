"""Test an exported detector in an inference engine, as ``tools/test.py`` tests a checkpoint:

``python tools/deployment/test.py CONFIG MODEL.onnx --backend onnxruntime|openvino
[--eval bbox segm] [--out x.pkl] [--format-only] [--show-dir DIR] [--cfg-options k=v ...]``
"""
import argparse

from mmdet_lite.apis import build_test_data, load_config, single_gpu_test
from mmdet_lite.apis.test_cli import add_output_args, check_output_args, write_outputs
from mmdet_lite.deployment.backends import BACKENDS, build_backend_detector


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Test (and evaluate) an exported detector with ONNX Runtime or OpenVINO')
    parser.add_argument('config', help='the config the model was exported from')
    parser.add_argument('model', help='exported model file (.onnx)')
    parser.add_argument('--backend', required=True, choices=sorted(BACKENDS),
                        help='inference engine')
    parser.add_argument('--device', default='cpu',
                        help="'cpu' (default), or 'cuda[:N]' with onnxruntime-gpu")
    parser.add_argument('--num-threads', type=int, default=None,
                        help='intra-op threads of the engine (default: every core)')
    add_output_args(parser, 'metrics, e.g. "bbox", "segm" (COCO), "mAP" (VOC)')
    args = parser.parse_args(argv)
    check_output_args(parser, args)
    return args


def main(argv=None):
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    dataset, data_loader = build_test_data(cfg)
    # class names from the graph's metadata, else the test dataset's
    model = build_backend_detector(cfg, args.model, args.backend,
                                   class_names=getattr(dataset, 'CLASSES', None),
                                   device=args.device, num_threads=args.num_threads)
    outputs = single_gpu_test(model, data_loader, args.show, args.show_dir,
                              args.show_score_thr)
    return write_outputs(cfg, dataset, outputs, args,
                         dict(config=args.config, model=args.model, backend=args.backend),
                         json_prefix=f'eval_{args.backend}')


if __name__ == '__main__':
    main()
