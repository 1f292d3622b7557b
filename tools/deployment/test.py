"""Test an exported detector in an inference engine, as ``tools/test.py`` tests a checkpoint:

``python tools/deployment/test.py CONFIG MODEL.onnx --backend onnxruntime|openvino
[--eval bbox segm] [--out x.pkl] [--format-only] [--show-dir DIR] [--cfg-options k=v ...]``
"""
import argparse
import json
import os
import os.path as osp
import time

import mmengine
from mmengine.config import DictAction

from mmdet_lite.apis import build_test_data, evaluate_results, load_config, single_gpu_test
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
    parser.add_argument('--work-dir', help='the dir to save the evaluation metrics (json)')
    parser.add_argument('--out', help='output result file in pickle format')
    parser.add_argument('--format-only', action='store_true',
                        help='only format the results (dataset.format_results), e.g. for a '
                        'test server')
    parser.add_argument('--eval', type=str, nargs='+',
                        help='metrics, e.g. "bbox", "segm" (COCO), "mAP" (VOC)')
    parser.add_argument('--show', action='store_true', help='show results')
    parser.add_argument('--show-dir', help='directory where painted images will be saved')
    parser.add_argument('--show-score-thr', type=float, default=0.3,
                        help='score threshold for drawing (default: 0.3)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings: key=value, a.b=1, k="[1,2]"')
    parser.add_argument('--eval-options', nargs='+', action=DictAction,
                        help='keyword arguments of dataset.evaluate / format_results')
    args = parser.parse_args(argv)
    if not (args.out or args.eval or args.format_only or args.show or args.show_dir):
        parser.error('specify at least one of --out, --eval, --format-only, --show, --show-dir')
    if args.eval and args.format_only:
        parser.error('--eval and --format-only cannot be both specified')
    if args.out is not None and not args.out.endswith(('.pkl', '.pickle')):
        parser.error(f'--out must be a .pkl/.pickle file, got {args.out!r}')
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
    if args.out:
        print(f'\nwriting results to {args.out}')
        mmengine.dump(outputs, args.out)
    kwargs = dict(args.eval_options or {})
    if args.format_only:
        dataset.format_results(outputs, **kwargs)
    metric = None
    if args.eval:
        metric = evaluate_results(cfg, dataset, outputs, args.eval, kwargs)
        print(metric)
        if args.work_dir is not None:
            os.makedirs(args.work_dir, exist_ok=True)
            timestamp = time.strftime('%Y%m%d_%H%M%S', time.localtime())
            json_file = osp.join(args.work_dir, f'eval_{args.backend}_{timestamp}.json')
            with open(json_file, 'w') as f:
                json.dump(dict(config=args.config, model=args.model, backend=args.backend,
                               metric={k: v for k, v in metric.items()
                                       if isinstance(v, (int, float, str))}), f, indent=2)
    return metric


if __name__ == '__main__':
    main()
