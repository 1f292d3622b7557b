"""Checks that relate a dataset to the model trained or tested on it (2.x's
``mmdet.datasets.utils`` held the same check as ``NumClassCheckHook``).

What belongs here: functions that take a built dataset together with something outside the
datasets package (a model, a runner's state) and check that they agree. They import nothing
from ``models`` or ``engine``: the model is inspected through its modules' attributes, so the
runner's hook (``engine/num_class_check_hook.py``) and any tool can call them.
"""
from typing import Dict, Tuple

from torch import nn

# 2.x modules whose ``num_classes`` is not the number of object classes: class-agnostic
# proposal heads, the VGG classifier, the semantic head of HTC. A subclass of one of them is
# exempt too (2.x checked with isinstance).
NUM_CLASSES_EXEMPT_TYPES = ('RPNHead', 'GARPNHead', 'CascadeRPNHead', 'StageCascadeRPNHead',
                            'VGG', 'FusedSemanticHead')


def _is_exempt(path: str, module: nn.Module) -> bool:
    """A module of a type in :data:`NUM_CLASSES_EXEMPT_TYPES` (or a subclass), or one that
    sits under the detector's ``rpn_head`` (class-agnostic proposals, whatever its type)."""
    if any(cls.__name__ in NUM_CLASSES_EXEMPT_TYPES for cls in type(module).__mro__):
        return True
    return path.split('.')[0] == 'rpn_head'


def _heads_num_classes(model: nn.Module) -> Dict[str, Tuple[nn.Module, int]]:
    """``{attribute path: (module, num_classes)}`` of every sub-module that declares an int
    ``num_classes`` and is not exempt (:func:`_is_exempt`); the model itself is ``''``."""
    found = {}
    for name, module in model.named_modules():
        num = getattr(module, 'num_classes', None)
        if isinstance(num, int) and not isinstance(num, bool) and not _is_exempt(name, module):
            found[name] = (module, num)
    return found


def check_num_classes(model: nn.Module, dataset) -> None:
    """Raise if a head's ``num_classes`` differs from ``len(dataset.CLASSES)``.

    Heads of the 2.x exempt types (RPN heads, ...) and everything under ``rpn_head`` are
    skipped. A dataset without ``CLASSES`` (None) is not checked; the caller decides whether
    to warn. mmdetection 2.x ran this check before every training and validation epoch
    (``NumClassCheckHook``).

    Raises:
        TypeError: ``dataset.CLASSES`` is a string (a one-class tuple without its comma).
        ValueError: a head disagrees; the message names every such head and the fix.
    """
    classes = getattr(dataset, 'CLASSES', None)
    if classes is None:
        return
    dataset_name = type(dataset).__name__
    if isinstance(classes, str):
        raise TypeError(f'{dataset_name}.CLASSES is the string {classes!r}; use a tuple, e.g. '
                        f'CLASSES = ({classes!r}, )')
    wrong = {name: (module, num) for name, (module, num) in _heads_num_classes(model).items()
             if num != len(classes)}
    if wrong:
        each = '; '.join(f"{'model.' + name if name else 'the model'} ({type(module).__name__}) "
                         f'has num_classes={num}' for name, (module, num) in wrong.items())
        summary = {name or type(model).__name__: num for name, (_, num) in wrong.items()}
        raise ValueError(f'the model\'s num_classes {summary} do not match the '
                         f'{len(classes)} classes of {dataset_name} ({tuple(classes)}): {each}; '
                         f'set num_classes={len(classes)} in the heads (e.g. '
                         f'model.roi_head.bbox_head.num_classes) or classes=(...) in the dataset')
