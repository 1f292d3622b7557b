"""Draw the ground truth of the training set after the training pipeline.

    python tools/analysis_tools/browse_dataset.py CONFIG --output-dir DIR [--not-show]
        [--skip-type DefaultFormatBundle Normalize Collect] [--cfg-options k=v ...]

One drawn file per image in DIR (named after the image). Nothing is shown unless asked:
``--not-show`` is the default without a display; ``--show`` opens a window.
"""
import argparse
from typing import List, Optional

from mmengine.config import Config, DictAction

from mmdet_lite.analysis.browse import DEFAULT_SKIP_TYPES, browse_dataset, retrieve_train_data_cfg
from mmdet_lite.datasets import build_dataset


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Browse a dataset')
    parser.add_argument('config', help='config file path')
    parser.add_argument('--skip-type', nargs='+', default=list(DEFAULT_SKIP_TYPES),
                        help='pipeline steps to skip')
    parser.add_argument('--output-dir', default=None, help='save the drawn images there')
    show = parser.add_mutually_exclusive_group()
    show.add_argument('--not-show', dest='show', action='store_false',
                      help='do not open a window (the default)')
    show.add_argument('--show', dest='show', action='store_true', help='open a window')
    parser.set_defaults(show=False)
    parser.add_argument('--show-interval', type=float, default=2,
                        help='seconds each shown image stays')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings, key=value')
    args = parser.parse_args(argv)
    if args.output_dir is None and not args.show:
        parser.error('nothing to do: give --output-dir DIR (or --show)')
    return args


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    cfg = retrieve_train_data_cfg(cfg, args.skip_type)
    dataset = build_dataset(cfg.data.train)
    written = browse_dataset(dataset, output_dir=args.output_dir, show=args.show,
                             show_interval=args.show_interval)
    if args.output_dir is not None:
        print(f'\n{len(written)} images drawn into {args.output_dir}')


if __name__ == '__main__':
    main()
