"""Checkpoint I/O that can never run code: ``weights_only`` loading and atomic writes.

A checkpoint is read with ``torch.load(weights_only=True)``. Besides tensors and plain Python
containers, only the bookkeeping objects that mmengine itself writes are allowed: the
``HistoryBuffer`` objects of the message hub and the numpy arrays/scalars they hold. Anything
else (a class from ``os``, a user class, ...) is refused with an error naming the file and the
global. mmdetection 2.x model-zoo checkpoints (``state_dict`` + ``meta``) load as they are.
"""
import os
import os.path as osp
import re
import tempfile
from collections import OrderedDict
from typing import Callable, Dict, List, Optional, Tuple, Union

import numpy as np
import torch
from mmengine.fileio import LocalBackend, register_backend
from mmengine.logging import HistoryBuffer
from mmengine.runner.checkpoint import load_state_dict
from torch import nn

ATOMIC_BACKEND = 'mmdet_lite_atomic_local'


def _history_buffer_getattr(obj: object, name: str) -> object:
    """``getattr`` restricted to HistoryBuffer's statistics methods.

    A pickled ``HistoryBuffer`` refers to its statistics methods as ``getattr(HistoryBuffer,
    'mean')``; allowing the real ``builtins.getattr`` would let a crafted file reach arbitrary
    attributes, so the unpickler gets this narrow version under that name instead.
    """
    allowed = set(HistoryBuffer._statistics_methods) | {'min', 'max', 'mean', 'current'}
    if obj is HistoryBuffer and name in allowed:
        return getattr(obj, name)
    raise pickle_error(f'getattr({obj!r}, {name!r})')


class UnsafeCheckpointError(RuntimeError):
    """A checkpoint needs a global outside the allow-list to be unpickled."""


def pickle_error(what: str) -> Exception:
    return UnsafeCheckpointError(f'refused to unpickle {what}')


def _numpy_globals() -> List[Union[Callable, Tuple[Callable, str]]]:
    """numpy objects needed to rebuild arrays and scalars (numpy 1.x and 2.x module names)."""
    core = getattr(np, '_core', None) or np.core
    multiarray = core.multiarray
    found: List[Union[Callable, Tuple[Callable, str]]] = [np.ndarray, np.dtype]
    for mod_name in ('numpy._core.multiarray', 'numpy.core.multiarray'):
        found.append((multiarray._reconstruct, f'{mod_name}._reconstruct'))
        found.append((multiarray.scalar, f'{mod_name}.scalar'))
    # numpy >= 1.25 pickles dtypes of arrays/scalars as instances of these classes
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        found.extend(getattr(dtypes, name) for name in dir(dtypes) if name.endswith('DType'))
    return found


def safe_globals() -> List[Union[Callable, Tuple[Callable, str]]]:
    """The allow-list handed to ``torch.serialization.safe_globals``."""
    return [HistoryBuffer, (_history_buffer_getattr, 'builtins.getattr')] + _numpy_globals()


def load_checkpoint_safely(path: str, map_location: Union[str, torch.device, Callable,
                                                          None] = 'cpu') -> Dict:
    """Load ``path`` with ``torch.load(weights_only=True)`` and mmengine's bookkeeping allowed.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        UnsafeCheckpointError: the file needs another global (the message names it).
    """
    path = str(path)
    if not osp.isfile(path):
        raise FileNotFoundError(f'checkpoint file {path!r} does not exist')
    try:
        with torch.serialization.safe_globals(safe_globals()):
            checkpoint = torch.load(path, map_location=map_location, weights_only=True)
    except UnsafeCheckpointError as err:
        raise UnsafeCheckpointError(
            f'checkpoint {path!r}: {err}. mmdet_lite only loads checkpoints made of tensors, '
            'plain containers, numpy arrays and mmengine HistoryBuffers') from None
    except Exception as err:  # torch raises UnpicklingError naming the global
        message = str(err)
        if 'weights_only' not in message and 'Unsupported global' not in message:
            raise
        match = re.search(r'GLOBAL ([\w.]+ ?[\w.]*)', message)
        reason = re.search(r'WeightsUnpickler error: *\s*(.+?)\n', message)
        what = (f'needs the global {match.group(1)} to be unpickled, which could run arbitrary '
                'code,' if match else
                f"cannot be read safely ({reason.group(1) if reason else 'unsupported pickle'}),")
        raise UnsafeCheckpointError(
            f'checkpoint {path!r} {what} so it was refused. Only tensors, plain containers, '
            'numpy arrays and mmengine HistoryBuffers are allowed. If you trust the file, '
            "re-save its state_dict: torch.save({'state_dict': torch.load(path, "
            "weights_only=False)['state_dict']}, new_path).") from None
    if not isinstance(checkpoint, dict):
        raise UnsafeCheckpointError(
            f'checkpoint {path!r} holds a {type(checkpoint).__name__}, expected a dict '
            "(a state_dict, or a dict with 'state_dict' and 'meta')")
    return checkpoint


def _state_dict_of(checkpoint: Dict, path: str) -> 'OrderedDict[str, torch.Tensor]':
    state_dict = checkpoint.get('state_dict', checkpoint)
    if not isinstance(state_dict, dict):
        raise TypeError(f"checkpoint {path!r}: 'state_dict' is a {type(state_dict).__name__}, "
                        'expected a dict of tensors')
    return state_dict


def load_checkpoint(model: nn.Module, filename: str,
                    map_location: Union[str, torch.device, Callable, None] = 'cpu',
                    strict: bool = False, logger=None,
                    revise_keys: Optional[List[Tuple[str, str]]] = None) -> Dict:
    """Load a checkpoint (mmengine's or an mmdetection 2.x model-zoo one) into ``model``.

    ``module.`` prefixes (DataParallel) are stripped; ``revise_keys`` are extra
    ``(pattern, replacement)`` regex pairs applied to the keys. If the checkpoint's meta has
    ``CLASSES`` and ``model`` has a ``CLASSES`` attribute, it is set as in mmdetection 2.x's
    ``init_detector``. Returns the whole checkpoint dict.
    """
    checkpoint = load_checkpoint_safely(filename, map_location=map_location)
    state_dict = _state_dict_of(checkpoint, filename)
    metadata = getattr(state_dict, '_metadata', OrderedDict())
    for pattern, replacement in [(r'^module\.', '')] + list(revise_keys or []):
        state_dict = OrderedDict((re.sub(pattern, replacement, k), v)
                                 for k, v in state_dict.items())
    state_dict._metadata = metadata
    target = model.module if hasattr(model, 'module') else model
    load_state_dict(target, state_dict, strict=strict, logger=logger)
    return checkpoint


def checkpoint_classes(checkpoint: Dict) -> Optional[Tuple[str, ...]]:
    """Class names stored by mmdet_lite (``meta['CLASSES']``), mmdet 2.x, or mmengine."""
    meta = checkpoint.get('meta') or {}
    if meta.get('CLASSES') is not None:
        return tuple(meta['CLASSES'])
    dataset_meta = meta.get('dataset_meta') or {}
    if dataset_meta.get('classes') is not None:
        return tuple(dataset_meta['classes'])
    return None


def atomic_write_bytes(data: bytes, path: str) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder + ``os.replace``.

    A crash mid-write leaves the previous file (or nothing), never a truncated one.
    """
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp_path = tempfile.mkstemp(prefix=f'.{osp.basename(path)}.', suffix='.tmp', dir=folder)
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp_path, path)
    except BaseException:
        if osp.exists(tmp_path):
            os.remove(tmp_path)
        raise


def save_checkpoint_atomic(checkpoint: Dict, path: str) -> None:
    """``torch.save`` into ``path`` atomically."""
    import io
    with io.BytesIO() as buffer:
        torch.save(checkpoint, buffer)
        atomic_write_bytes(buffer.getvalue(), path)


@register_backend(ATOMIC_BACKEND)
class AtomicLocalBackend(LocalBackend):
    """mmengine's local file backend whose writes are atomic (temp file + ``os.replace``).

    ``CheckpointHook(backend_args=dict(backend='mmdet_lite_atomic_local'))`` saves every
    checkpoint (and the ``last_checkpoint`` pointer) through it.
    """

    def put(self, obj: bytes, filepath: Union[str, 'os.PathLike']) -> None:
        atomic_write_bytes(obj, str(filepath))

    def put_text(self, obj: str, filepath: Union[str, 'os.PathLike'],
                 encoding: str = 'utf-8') -> None:
        atomic_write_bytes(obj.encode(encoding), str(filepath))
