"""Test a detector under image corruptions (the robustness benchmark), then aggregate.

    python tools/analysis_tools/test_robustness.py CONFIG CHECKPOINT --out robust.pkl \
        --corruptions benchmark --severities 0 1 2 3 4 5 --eval bbox
    # -> robust_results.pkl ({corruption: {severity: {'bbox': {'AP': ...}}}}), then P/mPC/rPC

Needs ``pip install "mmdet_lite[robustness]"`` (imagecorruptions).
"""
import argparse
import os.path as osp
import sys
from typing import List, Optional

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from _device import force_cpu_if_asked  # noqa: E402

force_cpu_if_asked()

from _launch import add_launch_args, export_local_rank, resolve_device  # noqa: E402

from mmengine.config import DictAction  # noqa: E402

from mmdet_lite.analysis.robustness import (CORRUPTION_SETS, benchmark_results_file,  # noqa: E402
                                            corruption_benchmark, resolve_corruptions)
from mmdet_lite.analysis.robustness_eval import get_results  # noqa: E402
from mmdet_lite.apis import load_config, set_random_seed  # noqa: E402
from mmdet_lite.datasets.pipelines.corrupt import CORRUPTIONS  # noqa: E402
from mmdet_lite.engine import init_distributed  # noqa: E402


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='MMDet test detector')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', help='output result file')
    parser.add_argument('--corruptions', type=str, nargs='+', default='benchmark',
                        choices=sorted(CORRUPTION_SETS) + ['None'] + list(CORRUPTIONS),
                        help='corruptions')
    parser.add_argument('--severities', type=int, nargs='+', default=[0, 1, 2, 3, 4, 5],
                        help='corruption severity levels')
    parser.add_argument('--eval', type=str, nargs='+',
                        choices=['proposal', 'proposal_fast', 'bbox', 'segm', 'keypoints'],
                        help='eval types')
    parser.add_argument('--iou-thr', type=float, default=0.5,
                        help='IoU threshold for pascal voc evaluation')
    parser.add_argument('--summaries', type=bool, default=False,
                        help='Print summaries for every corruption and severity')
    parser.add_argument('--workers', type=int, default=None,
                        help='workers per gpu (default: the config\'s data.workers_per_gpu)')
    parser.add_argument('--show', action='store_true', help='show results')
    parser.add_argument('--show-dir', help='directory where painted images will be saved')
    parser.add_argument('--show-score-thr', type=float, default=0.3,
                        help='score threshold (default: 0.3)')
    parser.add_argument('--tmpdir', help='tmp dir for writing some results')
    parser.add_argument('--seed', type=int, default=None, help='random seed')
    parser.add_argument('--final-prints', type=str, nargs='+', choices=['P', 'mPC', 'rPC'],
                        default='mPC', help='corruption benchmark metric to print at the end')
    parser.add_argument('--final-prints-aggregate', type=str, choices=['all', 'benchmark'],
                        default='benchmark',
                        help='aggregate all results or only those for benchmark corruptions')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override some settings in the used config, key=value')
    add_launch_args(parser)
    args = parser.parse_args(argv)
    export_local_rank(args.local_rank)
    return args


def main(argv: Optional[List[str]] = None) -> Optional[dict]:
    """Returns the aggregated results (None on other ranks)."""
    args = parse_args(argv)
    if not args.out:
        raise ValueError('give --out results.pkl: the aggregated results go next to it '
                         '(<out>_results.pkl)')
    if not args.eval:
        raise ValueError('give --eval bbox (and/or segm): there is nothing to aggregate '
                         'otherwise')
    if 'proposal_fast' in args.eval or 'keypoints' in args.eval:
        raise ValueError('the benchmark aggregates bbox/segm (COCO) or bbox (VOC) results; '
                         f'--eval {" ".join(args.eval)} is not supported')
    cfg = load_config(args.config, args.cfg_options)
    if args.workers is not None:
        cfg.data.workers_per_gpu = args.workers
    cfg.data.test.test_mode = True
    distributed = args.launcher != 'none'
    if distributed:
        init_distributed(args.launcher, cfg.get('dist_params'))
    if args.seed is not None:
        set_random_seed(args.seed)
    names = [args.corruptions] if isinstance(args.corruptions, str) else args.corruptions
    corruptions, severities = resolve_corruptions(names, args.severities)
    aggregated = corruption_benchmark(
        cfg, args.checkpoint, corruptions, severities, args.out, eval_types=args.eval,
        iou_thr=args.iou_thr, device=resolve_device(args.device), distributed=distributed,
        show=args.show, show_dir=args.show_dir, show_score_thr=args.show_score_thr,
        tmpdir=args.tmpdir, summaries=args.summaries)
    if aggregated is None:
        return None
    print('\nAggregated results:')
    dataset = 'voc' if cfg.get('dataset_type') == 'VOCDataset' else 'coco'
    for task in (['bbox'] if dataset == 'voc' else [t for t in args.eval if t != 'proposal']):
        get_results(benchmark_results_file(args.out), dataset=dataset, task=task,
                    prints=args.final_prints, aggregate=args.final_prints_aggregate)
    return aggregated


if __name__ == '__main__':
    main()
