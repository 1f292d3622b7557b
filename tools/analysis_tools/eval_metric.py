"""Re-score raw test results (``tools/test.py --out X.pkl``) without running the model.

    python tools/analysis_tools/eval_metric.py CONFIG X.pkl --eval bbox segm
"""
import argparse

import mmengine
from mmengine.config import DictAction

from mmdet_lite.apis import build_test_dataset, evaluate_results, load_config


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Evaluate stored detection results')
    parser.add_argument('config', help='config file')
    parser.add_argument('pkl_results', help='results file from tools/test.py --out')
    parser.add_argument('--format-only', action='store_true',
                        help='only write result files (give jsonfile_prefix in --eval-options)')
    parser.add_argument('--eval', type=str, nargs='+',
                        help='metrics, e.g. "bbox", "segm", "proposal" for COCO, "mAP" for VOC')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, key=value')
    parser.add_argument('--eval-options', nargs='+', action=DictAction,
                        help='extra evaluate() arguments, e.g. classwise=True backend=faster')
    args = parser.parse_args(argv)
    if not args.eval and not args.format_only:
        parser.error('give --eval METRIC... and/or --format-only')
    return args


def main(argv=None):
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    dataset = build_test_dataset(cfg)
    outputs = mmengine.load(args.pkl_results)
    kwargs = dict(args.eval_options or {})
    if args.format_only:
        dataset.format_results(outputs, **kwargs)
    if args.eval:
        metrics = evaluate_results(cfg, dataset, outputs, args.eval, kwargs)
        print(dict(metrics))
        return metrics


if __name__ == '__main__':
    main()
