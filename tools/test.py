"""Test a detector: ``python tools/test.py CONFIG CHECKPOINT [--eval bbox segm] [--out x.pkl]``."""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from _device import force_cpu_if_asked  # noqa: E402

force_cpu_if_asked()

from _launch import add_launch_args, export_local_rank, resolve_device  # noqa: E402

from mmengine.config import DictAction  # noqa: E402
from mmengine.dist import get_dist_info  # noqa: E402

from mmdet_lite.apis import (build_detector_from_config, build_test_data,  # noqa: E402
                             load_config, multi_gpu_test, single_gpu_test)
from mmdet_lite.apis.inference_speed import optimize_for_inference  # noqa: E402
from mmdet_lite.apis.test_cli import (add_output_args, check_output_args,  # noqa: E402
                                      write_outputs)
from mmdet_lite.core.utils.precision import PRECISIONS  # noqa: E402
from mmdet_lite.engine import init_distributed  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Test (and evaluate) a detector')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
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
    add_output_args(parser, 'metrics, e.g. "bbox", "segm", "proposal" (COCO), "mAP" (VOC)')
    parser.add_argument('--gpu-collect', action='store_true',
                        help='gather results through GPU memory (distributed)')
    parser.add_argument('--tmpdir', help='tmp directory to collect results from ranks')
    parser.add_argument('--options', nargs='+', action=DictAction,
                        help='(deprecated) use --eval-options')
    add_launch_args(parser)
    args = parser.parse_args(argv)
    export_local_rank(args.local_rank)
    if args.options and args.eval_options:
        raise ValueError('--options and --eval-options cannot be both specified; use '
                         '--eval-options')
    args.eval_options = args.eval_options or args.options or {}
    check_output_args(parser, args)
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
    return write_outputs(cfg, dataset, outputs, args,
                         dict(config=args.config, checkpoint=args.checkpoint))


if __name__ == '__main__':
    main()
