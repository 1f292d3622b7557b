"""Test a detector: ``python tools/test.py CONFIG CHECKPOINT [--eval bbox segm] [--out x.pkl]``."""
import argparse
import json
import os
import os.path as osp
import sys
import time

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from _device import force_cpu_if_asked  # noqa: E402

force_cpu_if_asked()

from _launch import add_launch_args, export_local_rank, resolve_device  # noqa: E402

import mmengine  # noqa: E402
from mmengine.config import DictAction  # noqa: E402
from mmengine.dist import get_dist_info  # noqa: E402

from mmdet_lite.apis import (build_detector_from_config, build_test_data,  # noqa: E402
                             evaluate_results, load_config, multi_gpu_test, single_gpu_test)
from mmdet_lite.apis.inference_speed import optimize_for_inference  # noqa: E402
from mmdet_lite.core.utils.precision import PRECISIONS  # noqa: E402
from mmdet_lite.engine import init_distributed  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Test (and evaluate) a detector')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the dir to save the evaluation metrics (json)')
    parser.add_argument('--out', help='output result file in pickle format')
    parser.add_argument('--gpu-ids', type=int, nargs='+', help='(deprecated, 2.x)')
    parser.add_argument('--gpu-id', type=int, default=0, help='id of the gpu to use')
    parser.add_argument('--fuse-conv-bn', action=argparse.BooleanOptionalAction, default=True,
                        help='fold eval-mode BN layers into the preceding convs (faster '
                        'inference, same results within float rounding; on by default)')
    parser.add_argument('--channels-last', action=argparse.BooleanOptionalAction, default=None,
                        help='NHWC conv weights (default: on for CPU)')
    parser.add_argument('--precision', choices=PRECISIONS, default='fp32',
                        help='autocast to bf16/fp16 where the hardware runs it natively; '
                        'elsewhere fp32 runs and the log says so')
    parser.add_argument('--force-precision', action='store_true',
                        help='autocast to --precision even without native hardware support '
                        '(slow; to measure its accuracy cost only)')
    parser.add_argument('--format-only', action='store_true',
                        help='only format the results (dataset.format_results), e.g. for a '
                        'test server')
    parser.add_argument('--eval', type=str, nargs='+',
                        help='metrics, e.g. "bbox", "segm", "proposal" (COCO), "mAP" (VOC)')
    parser.add_argument('--show', action='store_true', help='show results')
    parser.add_argument('--show-dir', help='directory where painted images will be saved')
    parser.add_argument('--show-score-thr', type=float, default=0.3,
                        help='score threshold for drawing (default: 0.3)')
    parser.add_argument('--gpu-collect', action='store_true',
                        help='gather results through GPU memory (distributed)')
    parser.add_argument('--tmpdir', help='tmp directory to collect results from ranks')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings: key=value, a.b=1, k="[1,2]"')
    parser.add_argument('--options', nargs='+', action=DictAction,
                        help='(deprecated) use --eval-options')
    parser.add_argument('--eval-options', nargs='+', action=DictAction,
                        help='keyword arguments of dataset.evaluate / format_results')
    add_launch_args(parser)
    args = parser.parse_args(argv)
    export_local_rank(args.local_rank)
    if args.options and args.eval_options:
        raise ValueError('--options and --eval-options cannot be both specified; use '
                         '--eval-options')
    args.eval_options = args.eval_options or args.options or {}
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
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'checkpoint file {args.checkpoint!r} does not exist')
    device = resolve_device(args.device)
    distributed = args.launcher != 'none'
    if distributed:
        init_distributed(args.launcher, cfg.get('dist_params'))
    rank, _ = get_dist_info()

    dataset, data_loader = build_test_data(cfg)
    # class names from the checkpoint, else the test dataset's
    model = build_detector_from_config(cfg, args.checkpoint, device=device,
                                       default_classes=getattr(dataset, 'CLASSES', None))
    optimize_for_inference(model, fuse_conv_bn=args.fuse_conv_bn,
                           channels_last=args.channels_last, precision=args.precision,
                           force_precision=args.force_precision)

    if not distributed:
        outputs = single_gpu_test(model, data_loader, args.show, args.show_dir,
                                  args.show_score_thr)
    else:
        outputs = multi_gpu_test(model, data_loader, args.tmpdir, args.gpu_collect)
    if rank != 0:
        return None
    if args.out:
        print(f'\nwriting results to {args.out}')
        mmengine.dump(outputs, args.out)
    kwargs = dict(args.eval_options)
    if args.format_only:
        dataset.format_results(outputs, **kwargs)
    metric = None
    if args.eval:
        metric = evaluate_results(cfg, dataset, outputs, args.eval, kwargs)
        print(metric)
        if args.work_dir is not None:
            os.makedirs(args.work_dir, exist_ok=True)
            timestamp = time.strftime('%Y%m%d_%H%M%S', time.localtime())
            json_file = osp.join(args.work_dir, f'eval_{timestamp}.json')
            with open(json_file, 'w') as f:
                json.dump(dict(config=args.config, checkpoint=args.checkpoint,
                               metric={k: v for k, v in metric.items()
                                       if isinstance(v, (int, float, str))}), f, indent=2)
    return metric


if __name__ == '__main__':
    main()
