"""Generate docs/model_zoo.md (registered model types; which mmdetection 2.28 configs build).

    # the page, from the committed index and the registry (anywhere; --check: only compare)
    python tools/misc/gen_model_zoo.py page [--check]
    # the index, where mmdetection 2.28's configs and the oracle's state-dict list are
    python tools/misc/gen_model_zoo.py index /tmp/mmdet228/mmdet/.mim/configs \
        --reference ../shared/reference/mmdet2_zoo_state_dicts.json.gz
"""
import argparse
import os.path as osp
import sys
import warnings
from typing import List, Optional

from mmengine.config import Config

from mmdet_lite.analysis.model_zoo import (index_configs, load_index, registered_types,
                                           render_page, write_index)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
INDEX = osp.join(REPO, 'docs', 'data', 'mmdet228_configs.json')
PAGE = osp.join(REPO, 'docs', 'model_zoo.md')
PAGE_COMMAND = 'python tools/misc/gen_model_zoo.py page'


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest='command', required=True)
    page = sub.add_parser('page', help='write docs/model_zoo.md')
    page.add_argument('--index', default=INDEX, help='the committed index of 2.28 configs')
    page.add_argument('--out', default=PAGE, help='the page to write')
    page.add_argument('--check', action='store_true',
                      help='write nothing; exit 1 when the page differs from what it would be')
    index = sub.add_parser('index', help="measure 2.28's configs into the index")
    index.add_argument('config_root', help="mmdetection 2.28's .mim/configs folder")
    index.add_argument('--reference', required=True,
                       help="2.28's state dicts per config (mmdet2_zoo_state_dicts.json.gz)")
    index.add_argument('--out', default=INDEX, help='the index to write')
    index.add_argument('--only', nargs='+', default=None,
                       help='measure only these configs (FAMILY/NAME.py) again; the others '
                       'are kept from the index at --out')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    if args.command == 'index':
        warnings.filterwarnings('ignore')
        previous = load_index(args.out) if args.only else None
        index = index_configs(args.config_root, args.reference, Config.fromfile,
                              progress=lambda rel: print(rel, flush=True), previous=previous,
                              only=args.only)
        write_index(index, args.out)
        print(f'{len(index["configs"])} configs indexed into {args.out}')
        return 0
    page = render_page(load_index(args.index), registered_types(), PAGE_COMMAND)
    if args.check:
        current = open(args.out).read() if osp.isfile(args.out) else ''
        if current != page:
            print(f'{args.out} is out of date: run {PAGE_COMMAND}')
            return 1
        print(f'{args.out} is up to date')
        return 0
    with open(args.out, 'w') as f:
        f.write(page)
    print(f'wrote {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
