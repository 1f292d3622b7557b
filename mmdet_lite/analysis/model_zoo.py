"""The supported-models page (``docs/model_zoo.md``): mmdet_lite's registered model types by
role, and which of mmdetection 2.28's configs build.

Two steps, so that the page can be regenerated anywhere (CI included) without 2.28:

1. :func:`index_configs` (run once where 2.28's config tree is, by
   ``tools/misc/gen_model_zoo.py index``) records for each config that 2.28 itself builds the
   model types it names, by role, and whether mmdet_lite's model from that file has 2.28's
   state-dict names and shapes (measured then, with the date). The index is committed
   (``docs/data/mmdet228_configs.json``).
2. :func:`render_page` writes the page from the index and the registries as they are now: a
   config's types are all registered or not (recomputed every time), its state dict was equal
   to 2.28's or not (as measured).
"""
import copy
import datetime
import gzip
import importlib
import json
import os
import os.path as osp
import pkgutil
import re
from collections import OrderedDict
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import torch

from .. import models as models_package
from ..models.builder import build_detector
from ..registry import MODELS

# The roles a page lists, in order, with the mmdet_lite.models sub-package that defines them.
ROLES = OrderedDict([
    ('detector', ('Detectors', 'detectors')),
    ('backbone', ('Backbones', 'backbones')),
    ('neck', ('Necks', 'necks')),
    ('dense_head', ('Dense heads (RPN and one-stage)', 'dense_heads')),
    ('roi_head', ('RoI heads, box/mask heads, RoI extractors', 'roi_heads')),
    ('loss', ('Losses', 'losses')),
])
CONFIG_SUBTREES_SKIPPED = ('init_cfg', 'train_cfg', 'test_cfg', 'pretrained')


def registered_types() -> Dict[str, List[str]]:
    """Every model type of ``MODELS`` that ``mmdet_lite.models`` defines, by role (sorted).

    Every module of the package is imported first, so that the answer does not depend on
    what happened to be imported before."""
    for info in pkgutil.walk_packages(models_package.__path__, 'mmdet_lite.models.'):
        importlib.import_module(info.name)
    by_role: Dict[str, List[str]] = {role: [] for role in ROLES}
    by_package = {package: role for role, (_, package) in ROLES.items()}
    for name, cls in MODELS.module_dict.items():
        parts = cls.__module__.split('.')
        if parts[:2] == ['mmdet_lite', 'models'] and len(parts) > 2 and parts[2] in by_package:
            by_role[by_package[parts[2]]].append(name)
    return {role: sorted(names, key=str.lower) for role, names in by_role.items()}


def _role_of(path: Tuple[str, ...]) -> Optional[str]:
    """The role of the ``type`` found at key ``path`` of a model dict (None: not listed)."""
    if not path:
        return 'detector'
    key = path[-1]
    if key == 'backbone':
        return 'backbone'
    if key == 'neck':
        return 'neck'
    if key.startswith('loss'):
        return 'loss'
    if key == 'roi_head' or 'roi_extractor' in key or (
            key.endswith('_head') and 'roi_head' in path):
        return 'roi_head'
    if key.endswith('head'):
        return 'dense_head'
    return None


def _walk(node: Any, path: Tuple[str, ...]) -> Iterator[Tuple[Tuple[str, ...], str]]:
    if isinstance(node, dict):
        if isinstance(node.get('type'), str):
            yield path, node['type']
        for key, value in node.items():
            if key not in CONFIG_SUBTREES_SKIPPED:
                yield from _walk(value, path + (str(key),))
    elif isinstance(node, (list, tuple)):
        for value in node:
            yield from _walk(value, path)


def model_types(model_cfg: dict) -> Dict[str, List[str]]:
    """The types a model config names, by role (each once, in order of appearance)."""
    found: Dict[str, List[str]] = {role: [] for role in ROLES}
    for path, type_name in _walk(model_cfg, ()):
        role = _role_of(path)
        if role is not None and type_name not in found[role]:
            found[role].append(type_name)
    return found


def _without_pretrained(model_cfg: dict) -> dict:
    model_cfg = copy.deepcopy(model_cfg)
    model_cfg.pop('pretrained', None)
    for key in ('backbone', 'neck'):
        if isinstance(model_cfg.get(key), dict):
            model_cfg[key].pop('pretrained', None)
            model_cfg[key]['init_cfg'] = None
    return model_cfg


def state_dict_equal(cfg: Any, reference: List[Tuple[str, List[int]]]) -> Tuple[bool, str]:
    """Whether mmdet_lite's model of config ``cfg`` has the names and shapes of ``reference``
    (2.28's ``state_dict()`` as ``[name, shape]`` pairs); the reason when not."""
    def build(device: str) -> Any:
        # on the meta device nothing is allocated or initialised: names and shapes only
        with torch.device(device):
            return build_detector(_without_pretrained(cfg.model),
                                  train_cfg=cfg.get('train_cfg'), test_cfg=cfg.get('test_cfg'))

    try:
        try:
            model = build('meta')
        except Exception:  # noqa: BLE001 - a model whose constructor reads its weights
            model = build('cpu')
    except Exception as err:  # noqa: BLE001 - the reason is the row of the index
        return False, f'{type(err).__name__}: {(str(err).splitlines() or [""])[0][:120]}'
    have = {k: list(v.shape) for k, v in model.state_dict().items()}
    want = {k: list(s) for k, s in reference}
    if have == want:
        return True, ''
    return False, (f'state dict differs: {len(set(want) - set(have))} missing, '
                   f'{len(set(have) - set(want))} unexpected keys, '
                   f'{sum(1 for k in want if k in have and have[k] != want[k])} shapes')


def index_configs(config_root: str, zoo_reference: str,
                  load_config: Callable[[str], Any],
                  progress: Optional[Callable[[str], None]] = None,
                  previous: Optional[Dict[str, Any]] = None,
                  only: Optional[List[str]] = None) -> Dict[str, Any]:
    """The index of 2.28's configs that 2.28 builds (those listed in ``zoo_reference``, the
    ``mmdet2_zoo_state_dicts.json.gz`` of the oracle): per config its family, model types by
    role and the state-dict comparison. ``config_root`` is 2.28's ``.mim/configs``. With
    ``previous`` and ``only``, only the configs in ``only`` are measured again; the others are
    taken from ``previous``."""
    opener = gzip.open if zoo_reference.endswith('.gz') else open
    with opener(zoo_reference, 'rt') as f:
        reference = json.load(f)
    configs: Dict[str, Any] = {}
    for rel in sorted(reference['configs']):
        if only is not None and previous is not None and rel not in only:
            configs[rel] = previous['configs'][rel]
            continue
        path = osp.join(config_root, rel)
        if not osp.isfile(path):
            raise FileNotFoundError(f'{zoo_reference} lists {rel} but {path} does not exist; '
                                    "pass mmdetection 2.28's .mim/configs folder")
        if progress is not None:
            progress(rel)
        cfg = load_config(path)
        equal, reason = state_dict_equal(cfg, reference['configs'][rel]['keys'])
        configs[rel] = dict(family=rel.split('/')[0], types=model_types(cfg.model),
                            state_dict_equal=equal, reason=reason)
    return dict(source=reference.get('source', ''), measured=datetime.date.today().isoformat(),
                configs=configs)


def _link(names: List[str]) -> str:
    return ', '.join(f'`{n}`' for n in names) if names else '-'


def render_page(index: Dict[str, Any], registered: Dict[str, List[str]],
                command: str) -> str:
    """The markdown of ``docs/model_zoo.md``."""
    known = {name for names in registered.values() for name in names}
    configs = index['configs']

    def missing_types(entry: dict) -> List[str]:
        return [t for role in ROLES for t in entry['types'][role] if t not in known]

    lines = [
        '# Supported models',
        '',
        f'Generated by `{command}` from the model registry and '
        '`docs/data/mmdet228_configs.json` (the model types each of mmdetection 2.28\'s '
        'configs names, and whether mmdet_lite built it with 2.28\'s state-dict names and '
        f'shapes when measured on {index["measured"]}). Do not edit by hand: '
        '`tests/test_docs/test_model_zoo.py` fails when this page and the registry disagree.',
        '',
        '## Registered model types',
        '',
        'Every type below is registered under its mmdetection 2.x name with 2.x arguments and '
        'defaults (`type=...` in a model config).',
        '',
    ]
    for role, (title, _) in ROLES.items():
        lines += [f'**{title}** ({len(registered[role])}): {_link(registered[role])}', '']

    total = len(configs)
    registered_ok = [rel for rel, e in configs.items() if not missing_types(e)]
    equal = [rel for rel, e in configs.items() if e['state_dict_equal']]
    lines += [
        "## mmdetection 2.28's configs",
        '',
        f'Of the {total} configs in mmdetection 2.28\'s config tree that 2.28 itself builds, '
        f'**{len(registered_ok)}** name only model types mmdet_lite registers, and '
        f'**{len(equal)}** built in mmdet_lite with exactly 2.28\'s state-dict names and shapes '
        '(so their model-zoo checkpoints load with `strict=True`). A config file of 2.28 is '
        'used as it is: `python tools/test.py /path/to/mmdet/configs/FAMILY/NAME.py '
        'CHECKPOINT --eval bbox`.',
        '',
        '| family | configs | types registered | state dict = 2.28\'s | types not registered |',
        '| --- | --- | --- | --- | --- |',
    ]
    families: Dict[str, List[str]] = OrderedDict()
    for rel in sorted(configs):
        families.setdefault(configs[rel]['family'], []).append(rel)
    for family, rels in families.items():
        missing = sorted({t for rel in rels for t in missing_types(configs[rel])})
        anchor = re.sub(r'[^a-z0-9_ -]', '', family.lower()).replace(' ', '-')  # GitHub's rule
        lines.append(f'| [{family}](#{anchor}) | {len(rels)} | '
                     f'{sum(not missing_types(configs[r]) for r in rels)} | '
                     f'{sum(configs[r]["state_dict_equal"] for r in rels)} | '
                     f'{_link(missing)} |')
    lines += ['', 'Per config: ✓ = state dict equal to 2.28\'s; otherwise why not.', '']
    for family, rels in families.items():
        lines += [f'### {family}', '', '| config | detector | backbone | neck | heads | ✓ |',
                  '| --- | --- | --- | --- | --- | --- |']
        for rel in rels:
            entry = configs[rel]
            types = entry['types']
            heads = types['dense_head'] + [t for t in types['roi_head']
                                           if not t.endswith('RoIExtractor')]
            missing = missing_types(entry)
            if entry['state_dict_equal'] and not missing:
                status = '✓'
            elif missing:
                status = 'not registered: ' + _link(missing)
            else:
                status = entry['reason'].replace('|', '/')
            lines.append(f'| {osp.splitext(osp.basename(rel))[0]} | {_link(types["detector"])} '
                         f'| {_link(types["backbone"])} | {_link(types["neck"])} | '
                         f'{_link(heads)} | {status} |')
        lines.append('')
    return '\n'.join(lines)


def load_index(path: str) -> Dict[str, Any]:
    with open(path) as f:
        return json.load(f)


def write_index(index: Dict[str, Any], path: str) -> None:
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path, 'w') as f:
        json.dump(index, f, indent=0, sort_keys=True)
        f.write('\n')
