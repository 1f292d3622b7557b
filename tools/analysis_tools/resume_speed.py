"""Per-iteration time of a fresh run and of the same run resumed, side by side.

    python tools/analysis_tools/resume_speed.py \
        [--config configs/shapes/retinanet_r18_fpn_shapes.py] [--num-train 40]
        [--work-dir /tmp/resume_speed] [--iter-based] [--workers 0]

Trains 2 epochs from scratch, then resumes from ``epoch_1.pth`` and
trains the same epoch 2 again. Prints, for epoch 2 of both runs, the wall and main-process CPU
seconds of each iteration, the torch thread count, and the time the resume itself took.
Epoch-based runs do not skip any data on resume (nothing is re-read or re-seeded beyond the
sampler's per-epoch seed); ``--iter-based`` measures the IterBasedRunner instead, where mmengine
loads the already-trained batches again to skip them.
"""
import argparse
import os.path as osp
import statistics
import sys
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from _device import force_cpu_if_asked  # noqa: E402

force_cpu_if_asked()

import torch  # noqa: E402
from mmengine.hooks import Hook  # noqa: E402

from mmdet_lite.apis import load_config  # noqa: E402
from mmdet_lite.engine import build_runner  # noqa: E402
from mmdet_lite.registry import HOOKS  # noqa: E402


@HOOKS.register_module(force=True)
class IterationClockHook(Hook):
    """Wall and process-CPU seconds of every train iteration (before_train_iter → after)."""

    priority = 'VERY_HIGH'

    def __init__(self):
        self.records = []
        self.start_wall = self.start_cpu = None
        self.train_start = None

    def before_train(self, runner):
        self.train_start = time.perf_counter()

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if self.start_wall is None:
            self.first_iter_at = time.perf_counter() - self.train_start
        self.start_wall, self.start_cpu = time.perf_counter(), time.process_time()

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self.records.append((runner.epoch + 1, runner.iter + 1,
                             time.perf_counter() - self.start_wall,
                             time.process_time() - self.start_cpu, torch.get_num_threads()))


def run(cfg, resume_from=None):
    cfg = cfg.copy()
    cfg.resume_from = resume_from
    cfg.custom_hooks = list(cfg.get('custom_hooks') or []) + [dict(type='IterationClockHook')]
    runner = build_runner(cfg, validate=False)
    t0 = time.perf_counter()
    runner.train()
    total = time.perf_counter() - t0
    clock = [h for h in runner.hooks if isinstance(h, IterationClockHook)][0]
    return clock, total


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--config', default='configs/shapes/retinanet_r18_fpn_shapes.py')
    parser.add_argument('--num-train', type=int, default=40)
    parser.add_argument('--work-dir', default='/tmp/resume_speed')
    parser.add_argument('--data-root', default='/tmp/resume_speed_data/')
    parser.add_argument('--workers', type=int, default=1)
    parser.add_argument('--iter-based', action='store_true')
    args = parser.parse_args()
    cfg = load_config(args.config)
    cfg.data.workers_per_gpu = args.workers
    for split in ('train', 'val', 'test'):
        cfg.data[split].data_root = args.data_root
        cfg.data[split].num_train = args.num_train
        cfg.data[split].num_val = 4
    cfg.work_dir = args.work_dir
    cfg.seed = 0
    cfg.log_level = 'WARNING'
    iters_per_epoch = -(-args.num_train // cfg.data.samples_per_gpu)
    if args.iter_based:
        cfg.runner = dict(type='IterBasedRunner', max_iters=2 * iters_per_epoch)
        cfg.checkpoint_config = dict(interval=iters_per_epoch, by_epoch=False)
        cfg.lr_config.by_epoch = False
        first_ckpt = osp.join(args.work_dir, f'iter_{iters_per_epoch}.pth')
    else:
        cfg.runner = dict(type='EpochBasedRunner', max_epochs=2)
        cfg.checkpoint_config = dict(interval=1)
        first_ckpt = osp.join(args.work_dir, 'epoch_1.pth')
    fresh, fresh_total = run(cfg)
    resumed, resumed_total = run(cfg, resume_from=first_ckpt)

    def second_half(clock):
        return [r for r in clock.records if r[1] > iters_per_epoch]

    a, b = second_half(fresh), second_half(resumed)
    print(f'config {args.config}, {args.num_train} images, batch {cfg.data.samples_per_gpu}, '
          f'workers {args.workers}, {"iter" if args.iter_based else "epoch"}-based')
    print('iter  fresh wall/cpu (s)   resumed wall/cpu (s)   threads fresh/resumed')
    for ra, rb in zip(a, b):
        print(f'{ra[1]:4d}  {ra[2]:7.3f} / {ra[3]:6.3f}     {rb[2]:7.3f} / {rb[3]:6.3f}'
              f'        {ra[4]}/{rb[4]}')
    for name, rows in (('fresh', a), ('resumed', b)):
        walls = [r[2] for r in rows]
        print(f'{name:8s} iterations {iters_per_epoch + 1}-{2 * iters_per_epoch}: median wall '
              f'{statistics.median(walls):.3f} s, mean {statistics.mean(walls):.3f} s, first '
              f'{walls[0]:.3f} s')
    w = [r[2] for r in fresh.records]
    print(f'fresh    iterations 1-{iters_per_epoch} (process warm-up): first {w[0]:.3f} s, '
          f'median {statistics.median(w[:iters_per_epoch]):.3f} s')
    print(f'resumed: first iteration began {resumed.first_iter_at:.2f} s after before_train '
          f'(fresh: {fresh.first_iter_at:.2f} s); whole resumed run {resumed_total:.1f} s')


if __name__ == '__main__':
    main()
