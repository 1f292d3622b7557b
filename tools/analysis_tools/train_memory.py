"""Resident memory of a training run (or an inference loop), every ``--every`` iterations
(Linux: ``RssAnon`` of /proc/self/status).

    python tools/analysis_tools/train_memory.py \
        [--config configs/shapes/retinanet_r18_fpn_shapes.py] [--iters 200]
        [--every 20] [--num-train 16] [--work-dir /tmp/train_memory] [--inference]

Runs an IterBasedRunner for ``--iters`` iterations on the built-in shapes data (``--num-train``
images, so the data loader restarts many times) with ``workers_per_gpu=0`` (all memory in
this process), then prints the RSS after each ``--every`` iterations and the growth after the
first ``--every`` (warm-up: allocator pools, lazily built caches). With ``--inference``,
``inference_detector`` runs on ``--iters`` images instead (the shapes images in turn, one per
call; the model keeps its initial weights).
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from _device import force_cpu_if_asked  # noqa: E402

force_cpu_if_asked()

from mmengine.hooks import Hook  # noqa: E402

from mmdet_lite.apis import inference_detector, init_detector, load_config  # noqa: E402
from mmdet_lite.datasets import build_dataset  # noqa: E402
from mmdet_lite.engine import build_runner  # noqa: E402
from mmdet_lite.registry import HOOKS  # noqa: E402


def rss_mb() -> float:
    """Anonymous resident memory in MiB (heap, tensors: what a leak grows). The whole RSS also
    counts mapped library files, which the kernel evicts and re-reads under memory pressure
    (on a shared machine the RSS of this run fell by 330 MiB with no change in the process)."""
    with open('/proc/self/status') as f:
        fields = dict(line.split(':', 1) for line in f if ':' in line)
    return int(fields['RssAnon'].split()[0]) / 1024


@HOOKS.register_module(force=True)
class RssRecorderHook(Hook):
    """``(iteration, anonymous RSS in MiB)`` every ``every`` train iterations."""

    priority = 'LOWEST'

    def __init__(self, every: int = 20):
        self.every = every
        self.records = []

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if (runner.iter + 1) % self.every == 0:
            self.records.append((runner.iter + 1, rss_mb()))
            print(f'iter {runner.iter + 1:6d}  RSS anon {self.records[-1][1]:8.1f} MiB',
                  flush=True)


def inference_memory(cfg, num_images: int, every: int) -> list:
    """``(images done, anonymous RSS in MiB)`` every ``every`` images of an inference loop."""
    dataset = build_dataset(cfg.data.train)  # writes the shapes data if needed
    paths = [osp.join(dataset.img_prefix, info['filename']) for info in dataset.data_infos]
    model = init_detector(cfg, device='cpu')
    records = []
    for i in range(num_images):
        inference_detector(model, paths[i % len(paths)])
        if (i + 1) % every == 0:
            records.append((i + 1, rss_mb()))
            print(f'image {i + 1:6d}  RSS anon {records[-1][1]:8.1f} MiB', flush=True)
    return records


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--config', default='configs/shapes/retinanet_r18_fpn_shapes.py')
    parser.add_argument('--iters', type=int, default=200)
    parser.add_argument('--every', type=int, default=20)
    parser.add_argument('--num-train', type=int, default=16)
    parser.add_argument('--work-dir', default='/tmp/train_memory')
    parser.add_argument('--data-root', default='/tmp/train_memory_data/')
    parser.add_argument('--inference', action='store_true',
                        help='measure an inference loop over --iters images instead')
    args = parser.parse_args()
    cfg = load_config(args.config)
    cfg.data.workers_per_gpu = 0
    for split in ('train', 'val', 'test'):
        cfg.data[split].data_root = args.data_root
        cfg.data[split].num_train = args.num_train
        cfg.data[split].num_val = 4
    cfg.work_dir = args.work_dir
    if args.inference:
        records = inference_memory(cfg, args.iters, args.every)
        print(f'{args.config}: inference on {args.iters} images ({args.num_train} files in turn)')
        print(f'growth after image {records[0][0]}: {records[-1][1] - records[0][1]:+.1f} MiB '
              f'over {records[-1][0] - records[0][0]} images')
        return
    cfg.seed = 0
    cfg.log_level = 'WARNING'
    cfg.runner = dict(type='IterBasedRunner', max_iters=args.iters)
    cfg.lr_config.by_epoch = False
    cfg.checkpoint_config = dict(interval=args.iters, by_epoch=False)
    cfg.custom_hooks = [dict(type='RssRecorderHook', every=args.every)]
    runner = build_runner(cfg, validate=False)
    runner.train()
    records = [h for h in runner.hooks if isinstance(h, RssRecorderHook)][0].records
    print(f'{args.config}: {args.iters} iterations, {args.num_train} images, batch '
          f'{cfg.data.samples_per_gpu}')
    print(f'growth after iteration {records[0][0]}: {records[-1][1] - records[0][1]:+.1f} MiB '
          f'over {records[-1][0] - records[0][0]} iterations')


if __name__ == '__main__':
    main()
