"""Draw the best and worst images of a test run, ranked by per-image box mAP (0.50:0.95).

    python tools/test.py CONFIG CHECKPOINT --out results.pkl
    python tools/analysis_tools/analyze_results.py CONFIG results.pkl SHOW_DIR [--topk 20] \
        [--show-score-thr 0.3] [--overlay-gt-pred]
    # -> SHOW_DIR/good/<image>_<mAP>.jpg, SHOW_DIR/bad/<image>_<mAP>.jpg
"""
import argparse
import os.path as osp
from typing import List, Optional

from mmengine.config import DictAction

from mmdet_lite.analysis.analyze_results import ResultVisualizer, get_loading_pipeline
from mmdet_lite.analysis.confusion_matrix import load_results
from mmdet_lite.apis import build_test_dataset, load_config


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='MMDet eval image prediction result for each')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('prediction_path', help='prediction path where test pkl result')
    parser.add_argument('show_dir', help='directory where painted images will be saved')
    parser.add_argument('--show', action='store_true', help='show results')
    parser.add_argument('--wait-time', type=float, default=0,
                        help='the interval of show (s), 0 is block')
    parser.add_argument('--topk', default=20, type=int,
                        help='saved Number of the highest topk and lowest topk after index '
                        'sorting')
    parser.add_argument('--show-score-thr', type=float, default=0,
                        help='score threshold (default: 0.)')
    parser.add_argument('--overlay-gt-pred', action='store_true',
                        help='whether to plot gts and predictions on the same image. If False, '
                        'ground truth is drawn above and predictions below')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override some settings in the used config, key=value')
    return parser.parse_args(argv)


def _train_pipeline(cfg) -> list:
    train = cfg.data.train
    while isinstance(train, dict) and 'pipeline' not in train and 'dataset' in train:
        train = train['dataset']
    return train['pipeline'] if isinstance(train, dict) and 'pipeline' in train else []


def main(argv: Optional[List[str]] = None):
    """Returns ``(good, bad)``: lists of ``(dataset index, mAP)``."""
    args = parse_args(argv)
    if not osp.isfile(args.prediction_path):
        raise FileNotFoundError(f'{args.prediction_path!r} does not exist')
    cfg = load_config(args.config, args.cfg_options)
    dataset = build_test_dataset(cfg)
    results = load_results(args.prediction_path)
    pipeline = _train_pipeline(cfg)
    loading = get_loading_pipeline(pipeline) if pipeline else None
    visualizer = ResultVisualizer(args.show, args.wait_time, args.show_score_thr,
                                  args.overlay_gt_pred)
    good, bad = visualizer.evaluate_and_show(dataset, results, topk=args.topk,
                                             show_dir=args.show_dir, loading_pipeline=loading)
    print(f'\nbest: {good[::-1]}\nworst: {bad}\ndrawn under {args.show_dir}/good and /bad')
    return good, bad


if __name__ == '__main__':
    main()
