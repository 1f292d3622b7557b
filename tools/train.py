"""Train a detector from an mmdetection 2.x config: ``python tools/train.py CONFIG [...]``."""
import argparse
import gc
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from _device import force_cpu_if_asked  # noqa: E402

force_cpu_if_asked()

from _launch import add_launch_args, export_local_rank, resolve_device  # noqa: E402

import torch.distributed as dist  # noqa: E402
from mmengine.config import DictAction  # noqa: E402

from mmdet_lite.apis import load_config  # noqa: E402
from mmdet_lite.engine import build_runner  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train a detector')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument('--resume-from', help='the checkpoint file to resume from')
    parser.add_argument('--auto-resume', action='store_true',
                        help='resume from the latest checkpoint in the work_dir automatically')
    parser.add_argument('--no-validate', action='store_true',
                        help='do not evaluate the checkpoint during training')
    group = parser.add_mutually_exclusive_group()
    group.add_argument('--gpus', type=int, help='(deprecated, 2.x) number of gpus; use '
                       'tools/dist_train.sh')
    group.add_argument('--gpu-ids', type=int, nargs='+', help='(deprecated, 2.x) ids of gpus')
    group.add_argument('--gpu-id', type=int, default=0, help='id of the gpu to use')
    parser.add_argument('--seed', type=int, default=None, help='random seed')
    parser.add_argument('--diff-seed', action='store_true',
                        help='(2.x) accepted; every rank uses the same seed')
    parser.add_argument('--deterministic', action='store_true',
                        help='set deterministic options for cuDNN')
    parser.add_argument('--options', nargs='+', action=DictAction,
                        help='(deprecated) use --cfg-options')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings: key=value, a.b=1, k="[1,2]"')
    add_launch_args(parser)
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the lr by (GPUs x samples_per_gpu) / base_batch_size')
    args = parser.parse_args(argv)
    export_local_rank(args.local_rank)
    if args.options and args.cfg_options:
        raise ValueError('--options and --cfg-options cannot be both specified; use '
                         '--cfg-options')
    args.cfg_options = args.cfg_options or args.options
    return args


def main(argv=None):
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    cfg.device = resolve_device(args.device)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    if args.resume_from is not None:
        cfg.resume_from = args.resume_from
    cfg.auto_resume = args.auto_resume or cfg.get('auto_resume', False)
    if args.auto_scale_lr:
        if cfg.get('auto_scale_lr') is None or 'base_batch_size' not in cfg.auto_scale_lr:
            raise KeyError('--auto-scale-lr needs auto_scale_lr=dict(base_batch_size=N) in '
                           'the config')
        cfg.auto_scale_lr.enable = True
    if args.gpu_ids is not None:
        cfg.gpu_ids = args.gpu_ids[:1]
    elif args.gpus is not None:
        cfg.gpu_ids = [0]
    else:
        cfg.gpu_ids = [args.gpu_id]
    if args.seed is not None:
        cfg.seed = args.seed
    if args.deterministic:
        cfg.deterministic = True
    cfg.launcher = args.launcher
    if args.launcher != 'none':
        cfg.gpu_ids = list(range(int(os.environ.get('WORLD_SIZE', 1))))
    runner = build_runner(cfg, validate=not args.no_validate)
    runner.train()
    if dist.is_available() and dist.is_initialized():
        # The runner sits in reference cycles and its DDP wrapper holds the process group, so
        # destroy_process_group alone left gloo's ProcessGroup to be freed at interpreter exit,
        # which sometimes aborted a rank ('terminate called without an active exception') after a
        # successful run. Free the runner while the interpreter is alive, then end the group.
        del runner
        gc.collect()
        dist.destroy_process_group()


if __name__ == '__main__':
    main()
