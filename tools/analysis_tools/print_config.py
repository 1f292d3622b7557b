"""Print the fully resolved config (``_base_`` merged, ``--cfg-options`` applied) as Python.

    python tools/analysis_tools/print_config.py CONFIG [--cfg-options k=v ...] [--save-path F]

The printed text is a valid config file: ``Config.fromfile`` on it gives the same config.
"""
import argparse
from typing import List, Optional

from mmengine.config import Config, DictAction


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Print the whole config')
    parser.add_argument('config', help='config file path')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings, key=value (e.g. model.backbone.depth=101)')
    parser.add_argument('--save-path', default=None,
                        help='also write the resolved config there (.py, .json or .yaml)')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    print(cfg.pretty_text)
    if args.save_path is not None:
        cfg.dump(args.save_path)


if __name__ == '__main__':
    main()
