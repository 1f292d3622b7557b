"""The output flags of the 2.x test scripts (``tools/test.py``, ``tools/deployment/test.py``):
``--out``, ``--eval``, ``--format-only``, ``--show(-dir)``, ``--work-dir`` and what they write."""
import argparse
import json
import os
import os.path as osp
import time
from typing import Any, Dict, List, Optional

import mmengine
from mmengine.config import DictAction

from .test import evaluate_results


def add_output_args(parser: argparse.ArgumentParser, eval_help: str) -> None:
    """Add the flags that say what to do with the results (2.x names and defaults)."""
    parser.add_argument('--work-dir', help='the dir to save the evaluation metrics (json)')
    parser.add_argument('--out', help='output result file in pickle format')
    parser.add_argument('--format-only', action='store_true',
                        help='only format the results (dataset.format_results), e.g. for a '
                        'test server')
    parser.add_argument('--eval', type=str, nargs='+', help=eval_help)
    parser.add_argument('--show', action='store_true', help='show results')
    parser.add_argument('--show-dir', help='directory where painted images will be saved')
    parser.add_argument('--show-score-thr', type=float, default=0.3,
                        help='score threshold for drawing (default: 0.3)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings: key=value, a.b=1, k="[1,2]"')
    parser.add_argument('--eval-options', nargs='+', action=DictAction,
                        help='keyword arguments of dataset.evaluate / format_results')


def check_output_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Reject flag combinations that would do nothing or contradict each other."""
    if not (args.out or args.eval or args.format_only or args.show or args.show_dir):
        parser.error('specify at least one of --out, --eval, --format-only, --show, --show-dir')
    if args.eval and args.format_only:
        parser.error('--eval and --format-only cannot be both specified')
    if args.out is not None and not args.out.endswith(('.pkl', '.pickle')):
        parser.error(f'--out must be a .pkl/.pickle file, got {args.out!r}')


def write_outputs(cfg, dataset, outputs: List[Any], args: argparse.Namespace,
                  record: Dict[str, Any], json_prefix: str = 'eval') -> Optional[dict]:
    """Dump ``outputs`` (``--out``), format them (``--format-only``) or evaluate them
    (``--eval``, the metrics also saved as ``WORK_DIR/{json_prefix}_{timestamp}.json`` with
    ``record``); returns the metrics or None."""
    if args.out:
        print(f'\nwriting results to {args.out}')
        mmengine.dump(outputs, args.out)
    kwargs = dict(args.eval_options or {})
    if args.format_only:
        dataset.format_results(outputs, **kwargs)
    if not args.eval:
        return None
    metric = evaluate_results(cfg, dataset, outputs, args.eval, kwargs)
    print(metric)
    if args.work_dir is not None:
        os.makedirs(args.work_dir, exist_ok=True)
        timestamp = time.strftime('%Y%m%d_%H%M%S', time.localtime())
        json_file = osp.join(args.work_dir, f'{json_prefix}_{timestamp}.json')
        with open(json_file, 'w') as f:
            json.dump(dict(record, metric={k: v for k, v in metric.items()
                                           if isinstance(v, (int, float, str))}), f, indent=2)
    return metric
