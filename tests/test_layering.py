"""The package reads bottom to top: no module of ``mmdet_lite`` imports a higher layer.

Every module is parsed (``ast``, nothing is imported) and each ``mmdet_lite`` import is checked
against :data:`LAYERS`, the order of docs/conventions.md §6. A package may import its own
modules and any lower layer; two packages of the same layer may import each other only as
listed in :data:`SAME_LAYER_ALLOWED`. Imports inside a function or class body (the usual way to
dodge import order) are refused whatever their target, and the library never imports
``tools``, ``demo`` or ``tests``.
"""
import ast
import os.path as osp
from pathlib import Path
from typing import Iterator, List, NamedTuple, Optional, Tuple

import pytest

import mmdet_lite

PACKAGE_DIR = Path(osp.dirname(mmdet_lite.__file__))
ROOT = ''  # the package's own ``mmdet_lite/__init__.py``

# Bottom first. A name is a top-level module or sub-package of mmdet_lite.
LAYERS: List[Tuple[str, ...]] = [
    (ROOT, 'registry', 'checkpoint', 'version'),
    ('core', ),
    ('models', 'evaluation'),
    ('datasets', ),
    ('engine', ),
    ('apis', ),
    ('analysis', 'convert', 'deployment'),
]
# (importer, imported) pairs of one layer that may import each other.
SAME_LAYER_ALLOWED = {
    (ROOT, 'version'),  # mmdet_lite.__version__
    ('analysis', 'convert'),  # the benchmark compares against torchvision's converted twin
}
OUTSIDE_THE_LIBRARY = ('tools', 'demo', 'tests')


class Violation(NamedTuple):
    path: str
    line: int
    statement: str
    reason: str

    def __str__(self) -> str:
        return f'{self.path}:{self.line}: `{self.statement}` {self.reason}'


def layer_of(name: str) -> Optional[int]:
    for index, names in enumerate(LAYERS):
        if name in names:
            return index
    return None


def module_name(path: Path) -> Tuple[str, bool]:
    """``(dotted name, is_package)`` of a file under :data:`PACKAGE_DIR`."""
    parts = ('mmdet_lite', ) + path.relative_to(PACKAGE_DIR).with_suffix('').parts
    if parts[-1] == '__init__':
        return '.'.join(parts[:-1]), True
    return '.'.join(parts), False


def component(dotted: str) -> str:
    """The top-level part of mmdet_lite that ``dotted`` lies in (:data:`ROOT` for the package)."""
    parts = dotted.split('.')
    return parts[1] if len(parts) > 1 else ROOT


def imported_modules(node: ast.AST, module: str, is_package: bool) -> List[str]:
    """Absolute dotted names an ``import`` / ``from ... import`` statement reaches."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    assert isinstance(node, ast.ImportFrom)
    if node.level:
        package = module if is_package else module.rpartition('.')[0]
        base = package.split('.')[:len(package.split('.')) - (node.level - 1)]
        target = '.'.join(base + ([node.module] if node.module else []))
    else:
        target = node.module or ''
    if target == 'mmdet_lite':  # ``from mmdet_lite import models``: the names are the targets
        return [f'mmdet_lite.{alias.name}' for alias in node.names]
    return [target]


def _imports_with_scope(tree: ast.AST) -> Iterator[Tuple[ast.AST, bool]]:
    """Every import statement and whether it sits inside a function or class body."""
    stack = [(child, False) for child in ast.iter_child_nodes(tree)]
    while stack:
        node, local = stack.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node, local
        inner = local or isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef,
                                           ast.Lambda))
        stack.extend((child, inner) for child in ast.iter_child_nodes(node))


def check_source(source: str, path: Path, relative: str) -> List[Violation]:
    """The layering violations of one module's source text."""
    module, is_package = module_name(path)
    own = component(module)
    own_layer = layer_of(own)
    tree = ast.parse(source, filename=relative)
    found = []
    for node, local in _imports_with_scope(tree):
        statement = ' '.join((ast.get_source_segment(source, node) or '').split())
        for target in imported_modules(node, module, is_package):
            top = target.split('.')[0]
            if top in OUTSIDE_THE_LIBRARY:
                found.append(Violation(relative, node.lineno, statement,
                                       f'imports {top}/, which is outside the library'))
                continue
            if top != 'mmdet_lite':
                continue
            if local:
                found.append(Violation(relative, node.lineno, statement,
                                       'is a function-local mmdet_lite import; import at '
                                       'module level (a lower layer) instead'))
            other = component(target)
            other_layer = layer_of(other)
            if other_layer is None or own_layer is None or other == own:
                continue
            if other_layer > own_layer:
                found.append(Violation(
                    relative, node.lineno, statement,
                    f"imports a higher layer: '{own or 'mmdet_lite'}' is layer {own_layer}, "
                    f"'{other}' is layer {other_layer}"))
            elif other_layer == own_layer and (own, other) not in SAME_LAYER_ALLOWED:
                found.append(Violation(
                    relative, node.lineno, statement,
                    f"imports '{other}', of the same layer {own_layer} as "
                    f"'{own or 'mmdet_lite'}' (not in SAME_LAYER_ALLOWED)"))
    return sorted(found, key=lambda v: v.line)


def library_files() -> List[Path]:
    return sorted(PACKAGE_DIR.rglob('*.py'))


def test_every_part_of_the_package_has_a_layer():
    parts = {component(module_name(p)[0]) for p in library_files()}
    unknown = sorted(p for p in parts if layer_of(p) is None)
    assert not unknown, (f'mmdet_lite/{unknown} not in LAYERS of tests/test_layering.py: give '
                         'each new package its layer (and update docs/conventions.md §6)')


def test_no_module_imports_a_higher_layer_or_locally():
    violations = []
    for path in library_files():
        relative = str(path.relative_to(PACKAGE_DIR.parent))
        violations += check_source(path.read_text(), path, relative)
    assert not violations, ('layering violations (layers, bottom first: '
                            f'{LAYERS}):\n' + '\n'.join(map(str, violations)))


@pytest.mark.parametrize('where,source,reason', [
    ('models/backbones/x.py', 'from ...engine import load_checkpoint\n', 'higher layer'),
    ('models/backbones/x.py', 'import mmdet_lite.datasets.builder\n', 'higher layer'),
    ('models/x.py', 'from ..evaluation import eval_map\n', 'same layer'),
    ('core/x.py', 'def f():\n    from ..registry import MODELS\n', 'function-local'),
    ('apis/x.py', 'from tools.misc import main\n', 'outside the library'),
    ('checkpoint.py', 'from . import core\n', 'higher layer'),
])
def test_checker_reports(where, source, reason):
    path = PACKAGE_DIR / where
    found = check_source(source, path, f'mmdet_lite/{where}')
    assert len(found) == 1 and reason in found[0].reason
    assert found[0].line == source.count('\n') and found[0].path == f'mmdet_lite/{where}'


@pytest.mark.parametrize('where,source', [
    ('engine/x.py', 'from ..checkpoint import load_checkpoint\nfrom ..datasets import Coco\n'),
    ('evaluation/__init__.py', 'from ..core.evaluation import eval_map\nfrom .coco_eval import x\n'
     'from . import coco_eval\n'),
    ('datasets/pipelines/x.py', 'from ...core.evaluation.bbox_overlaps import bbox_overlaps\n'),
    ('__init__.py', 'from .version import __version__\n'),
    ('models/x.py', 'import torch\n\n\ndef f():\n    import numpy\n'),
])
def test_checker_accepts(where, source):
    assert check_source(source, PACKAGE_DIR / where, where) == []
