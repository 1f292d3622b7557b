"""Re-score raw test results (``tools/test.py --out X.pkl``) without running the model.

    python tools/analysis_tools/eval_metric.py CONFIG X.pkl --eval bbox segm
"""
import argparse

import mmengine
from mmengine.config import Config, DictAction

from mmdet_lite.datasets import build_dataset

# keys of ``evaluation=dict(...)`` that configure the hook, not ``dataset.evaluate``
HOOK_KEYS = ('interval', 'tmpdir', 'start', 'gpu_collect', 'save_best', 'rule',
             'dynamic_intervals', 'by_epoch')


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
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    test_cfg = cfg.data.test.to_dict() if hasattr(cfg.data.test, 'to_dict') else dict(cfg.data.test)
    test_cfg['test_mode'] = True
    dataset = build_dataset(test_cfg)
    outputs = mmengine.load(args.pkl_results)
    kwargs = dict(args.eval_options or {})
    if args.format_only:
        dataset.format_results(outputs, **kwargs)
    if args.eval:
        eval_kwargs = {k: v for k, v in dict(cfg.get('evaluation', {})).items()
                       if k not in HOOK_KEYS}
        eval_kwargs.update(kwargs, metric=args.eval)
        metrics = dataset.evaluate(outputs, **eval_kwargs)
        print(dict(metrics))
        return metrics


if __name__ == '__main__':
    main()
