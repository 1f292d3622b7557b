"""Checkpoint I/O, at the bottom of mmdet_lite: every weight file is read and written here.

* **Reading never runs code.** :func:`load_checkpoint_safely` uses
  ``torch.load(weights_only=True)``. Besides tensors and plain Python containers, only the
  bookkeeping objects that mmengine itself writes are allowed: the ``HistoryBuffer`` objects of
  the message hub and the numpy arrays/scalars they hold. Anything else (a class from ``os``, a
  user class, ...) is refused with an error naming the file and the global. mmdetection 2.x
  model-zoo checkpoints (``state_dict`` + ``meta``) load as they are.
* **Writing is atomic** (:func:`save_checkpoint_atomic`, :class:`AtomicLocalBackend`): a
  temporary file in the same folder, then ``os.replace``.
* **Names resolve to local files, never downloads** (:func:`resolve_checkpoint_path`):
  ``torchvision://NAME``, ``open-mmlab://NAME`` (also ``openmmlab://``) and ``http(s)://`` URLs
  map to the files that torch's hub cache would hold; a missing file is an error saying exactly
  where to put it.
* **State dicts are unwrapped** (:func:`unwrap_state_dict`: ``state_dict`` / ``model``
  containers, DataParallel's ``module.`` prefix) and loaded into a whole model
  (:func:`load_checkpoint`) or, prefix-selected, into one part of it (:func:`load_pretrained`,
  which backbones call from ``init_weights`` for ``init_cfg=dict(type='Pretrained', ...)``).

Only torch, mmengine, numpy and the standard library are imported here.
"""
import difflib
import glob
import io
import json
import os
import os.path as osp
import re
import tempfile
import warnings
from collections import OrderedDict
from typing import Callable, Dict, List, Optional, Tuple, Union
from urllib.parse import urlparse

import mmengine
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


TORCHVISION_PREFIX = 'torchvision://'
OPENMMLAB_PREFIXES = ('open-mmlab://', 'openmmlab://')
NEVER_DOWNLOADS = ('mmdet_lite never downloads. Copy the file there, or give a local path '
                   "instead (init_cfg=dict(type='Pretrained', checkpoint='/path/to/file.pth'), "
                   'load_from=...), or init_cfg=None to train from scratch.')


def _hub_checkpoint_dir() -> str:
    """Where ``torch.hub.load_state_dict_from_url`` (and so mmcv 1.x / mmengine) caches files."""
    return osp.join(torch.hub.get_dir(), 'checkpoints')


def _mmengine_table(name: str) -> Dict[str, str]:
    """A name -> URL table shipped with mmengine (``mmengine/hub/NAME``; mmcv 1.x's tables)."""
    with open(osp.join(mmengine.__path__[0], 'hub', name)) as f:
        return json.load(f)


def _mmengine_home() -> str:
    """mmengine's cache folder: ``$MMENGINE_HOME``, else ``$XDG_CACHE_HOME/mmengine``."""
    return osp.expanduser(os.getenv('MMENGINE_HOME', osp.join(
        os.getenv('XDG_CACHE_HOME', '~/.cache'), 'mmengine')))


def _cached_file_of(url: str) -> str:
    """``http(s)://.../FILE`` -> ``<torch hub dir>/checkpoints/FILE``."""
    return osp.join(_hub_checkpoint_dir(), osp.basename(urlparse(url).path))


def _resolve_url(url: str, name: str) -> str:
    where = _cached_file_of(url)
    if not osp.isfile(where):
        raise FileNotFoundError(
            f'checkpoint {name!r} is the file {url}, expected at {where} (torch hub cache, '
            f'torch.hub.get_dir()={torch.hub.get_dir()!r}); {NEVER_DOWNLOADS}')
    return where


def _resolve_torchvision(name: str) -> str:
    """``torchvision://resnet50`` -> ``<torch hub dir>/checkpoints/resnet50-<hash>.pth``.

    The file of torchvision's URL (mmengine's table of the 2.x names) if present, else any
    ``NAME-<hash>.pth`` (another release of the same weights).
    """
    model = name[len(TORCHVISION_PREFIX):]
    url = _mmengine_table('torchvision_0.12.json').get(model)
    if url is not None and osp.isfile(_cached_file_of(url)):
        return _cached_file_of(url)
    found = sorted(glob.glob(osp.join(_hub_checkpoint_dir(), f'{model}-*.pth')))
    if found:
        return found[-1]
    source = f' (from {url})' if url else ''
    raise FileNotFoundError(
        f"checkpoint {name!r} needs the torchvision ImageNet weights of '{model}'{source} at "
        f"{osp.join(_hub_checkpoint_dir(), model + '-<hash>.pth')} (torch hub cache, "
        f'torch.hub.get_dir()={torch.hub.get_dir()!r}); {NEVER_DOWNLOADS}')


def _resolve_openmmlab(name: str) -> str:
    """``open-mmlab://NAME`` -> the cached file of the URL that mmcv 1.x's table gives NAME."""
    prefix = next(p for p in OPENMMLAB_PREFIXES if name.startswith(p))
    model = name[len(prefix):]
    urls = _mmengine_table('openmmlab.json')
    user_table = osp.join(_mmengine_home(), 'open_mmlab.json')
    if osp.isfile(user_table):
        with open(user_table) as f:
            urls.update(json.load(f))
    renamed = _mmengine_table('deprecated.json')
    if model in renamed:
        warnings.warn(f'{prefix}{model} is deprecated in favor of {prefix}{renamed[model]}')
        model = renamed[model]
    if model not in urls:
        close = difflib.get_close_matches(model, list(urls), n=5, cutoff=0.5)
        raise KeyError(f'checkpoint {name!r}: {model!r} is not an open-mmlab model name'
                       + (f'; did you mean one of {close}?' if close else '')
                       + f" (mmengine's hub/openmmlab.json, or your {user_table})")
    url = urls[model]
    if url.startswith(('http://', 'https://')):
        return _resolve_url(url, name)
    where = osp.join(_mmengine_home(), url)
    if not osp.isfile(where):
        raise FileNotFoundError(f'checkpoint {name!r} is expected at {where} (mmengine home); '
                                f'{NEVER_DOWNLOADS}')
    return where


def resolve_checkpoint_path(name: str) -> str:
    """The local file of a checkpoint name; never downloads.

    ``torchvision://NAME`` -> ``<torch hub dir>/checkpoints/NAME-<hash>.pth``;
    ``open-mmlab://NAME`` (or ``openmmlab://``) -> the hub-cache file of the URL that mmcv
    1.x's table (``mmengine/hub/openmmlab.json``) gives NAME; ``http(s)://.../FILE`` ->
    ``<torch hub dir>/checkpoints/FILE``; anything else is a local path.

    Raises:
        FileNotFoundError: the file is not there; the message says where to put it.
        KeyError: an unknown ``open-mmlab://`` name (the message suggests close ones).
    """
    name = str(name)
    if name.startswith(TORCHVISION_PREFIX):
        return _resolve_torchvision(name)
    if name.startswith(OPENMMLAB_PREFIXES):
        return _resolve_openmmlab(name)
    if name.startswith(('http://', 'https://')):
        return _resolve_url(name, name)
    if not osp.isfile(name):
        raise FileNotFoundError(f'checkpoint file {name!r} does not exist; give an existing '
                                'file, or torchvision://NAME, open-mmlab://NAME or an http(s) '
                                'URL whose file is in the torch hub cache')
    return name


def load_checkpoint_safely(path: str, map_location: Union[str, torch.device, Callable,
                                                          None] = 'cpu') -> Dict:
    """Load ``path`` with ``torch.load(weights_only=True)`` and mmengine's bookkeeping allowed.

    ``path`` may also be a ``torchvision://``, ``open-mmlab://`` or ``http(s)://`` name whose
    file is in the local cache (:func:`resolve_checkpoint_path`).

    Raises:
        FileNotFoundError: no such file (the message says where it was looked for).
        UnsafeCheckpointError: the file needs another global (the message names it).
    """
    path = resolve_checkpoint_path(str(path))
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


def unwrap_state_dict(checkpoint: Dict, path: str = '<checkpoint>'
                      ) -> 'OrderedDict[str, torch.Tensor]':
    """The state dict inside ``checkpoint``, DataParallel's ``module.`` prefix stripped.

    ``checkpoint`` is what :func:`load_checkpoint_safely` returns: an mmengine / mmdetection
    2.x checkpoint (``state_dict`` + ``meta``), a training script's ``{'model': ...}`` or a bare
    state dict (torchvision's ImageNet weights); ``path`` names it in errors. The state dict's
    ``_metadata`` (per-module versions read by ``_load_from_state_dict``) is kept.
    """
    state_dict, where = checkpoint, 'it'
    for key in ('state_dict', 'model'):
        if key in checkpoint and not isinstance(checkpoint[key], torch.Tensor):
            state_dict, where = checkpoint[key], repr(key)
            break
    if not isinstance(state_dict, dict):
        raise TypeError(f'checkpoint {path!r}: {where} is a {type(state_dict).__name__}, '
                        'expected a dict of tensors')
    metadata = getattr(state_dict, '_metadata', OrderedDict())
    unwrapped = OrderedDict((k[len('module.'):] if k.startswith('module.') else k, v)
                            for k, v in state_dict.items())
    unwrapped._metadata = metadata
    return unwrapped


def load_checkpoint(model: nn.Module, filename: str,
                    map_location: Union[str, torch.device, Callable, None] = 'cpu',
                    strict: bool = False, logger=None,
                    revise_keys: Optional[List[Tuple[str, str]]] = None) -> Dict:
    """Load a checkpoint (mmengine's or an mmdetection 2.x model-zoo one) into ``model``.

    ``filename`` is a local file or a cached name (:func:`resolve_checkpoint_path`);
    ``module.`` prefixes (DataParallel) are stripped; ``revise_keys`` are extra
    ``(pattern, replacement)`` regex pairs applied to the keys. Returns the whole checkpoint
    dict (:func:`checkpoint_classes` reads its class names).
    """
    checkpoint = load_checkpoint_safely(filename, map_location=map_location)
    state_dict = unwrap_state_dict(checkpoint, filename)
    metadata = state_dict._metadata
    for pattern, replacement in revise_keys or []:
        state_dict = OrderedDict((re.sub(pattern, replacement, k), v)
                                 for k, v in state_dict.items())
    state_dict._metadata = metadata
    target = model.module if hasattr(model, 'module') else model
    load_state_dict(target, state_dict, strict=strict, logger=logger)
    return checkpoint


def pretrained_init_cfg(init_cfg: Union[dict, List[dict], None]) -> Optional[dict]:
    """The ``dict(type='Pretrained', checkpoint=..., prefix=...)`` of an ``init_cfg`` (a dict or
    a list of dicts), or ``None`` when the module is initialised from scratch."""
    cfgs = init_cfg if isinstance(init_cfg, (list, tuple)) else [init_cfg]
    found = [c for c in cfgs if c is not None and c.get('type') == 'Pretrained']
    return found[0] if found else None


def load_pretrained(module: nn.Module, checkpoint: str, prefix: Optional[str] = None,
                    owner: Optional[str] = None, key_hint: str = '',
                    may_miss: Optional[Callable[[str], bool]] = None) -> None:
    """Load every key of ``module`` (a backbone) from ``checkpoint``: what ``init_weights``
    does for ``init_cfg=dict(type='Pretrained', checkpoint=..., prefix=...)``.

    ``checkpoint`` is a local file or a cached name (:func:`resolve_checkpoint_path`);
    ``prefix`` (e.g. ``'backbone.'``) selects one part of a detector checkpoint and is stripped.
    Keys the file has but ``module`` lacks (torchvision's ``fc.*``) are ignored; a key of
    ``module`` that the file lacks, or a shape mismatch, raises naming the file and the keys.
    ``owner`` names the module in errors (default: its class name); ``key_hint`` describes the
    key names a right checkpoint has, e.g. ``' (torchvision names conv1/bn1/layer1.0.conv1...)'``.
    ``may_miss(key)`` is true for keys of layers that such checkpoints never have (a backbone's
    DCN offsets, plugins, ...): they may be absent and then keep their initialisation.
    """
    owner = owner or type(module).__name__
    path = resolve_checkpoint_path(checkpoint)
    state_dict = unwrap_state_dict(load_checkpoint_safely(path), path)
    if prefix:
        prefix = prefix if prefix.endswith('.') else prefix + '.'  # 'backbone' as mmengine
        state_dict = OrderedDict((k[len(prefix):], v) for k, v in state_dict.items()
                                 if k.startswith(prefix))
        if not state_dict:
            raise KeyError(f'no key of {path!r} starts with prefix {prefix!r}')
    own = module.state_dict()
    missing = [k for k in own if k not in state_dict and not (may_miss and may_miss(k))]
    if missing:
        raise KeyError(f'{path!r} lacks {len(missing)} {owner} keys, e.g. {missing[:5]}; is it '
                       f'a {owner} checkpoint{key_hint}? For a detector checkpoint set init_cfg '
                       "prefix='backbone.'")
    wrong = [(k, tuple(state_dict[k].shape), tuple(v.shape)) for k, v in own.items()
             if k in state_dict and tuple(state_dict[k].shape) != tuple(v.shape)]
    if wrong:
        raise ValueError(f'{path!r} has shapes that do not fit {owner} '
                         f'(key, checkpoint shape, model shape): {wrong[:5]}')
    present = OrderedDict((k, state_dict[k]) for k in own if k in state_dict)
    module.load_state_dict(present, strict=len(present) == len(own))


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
