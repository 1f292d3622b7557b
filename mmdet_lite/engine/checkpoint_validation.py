"""Is a file a usable checkpoint, which one to resume from, does it fit the model.

* :func:`checkpoint_damage` says why a file cannot be read (empty, a truncated zip archive, a
  damaged entry) without unpickling it; :func:`read_checkpoint` loads a file through
  :func:`~mmdet_lite.checkpoint.load_checkpoint_safely` and turns torch's raw
  ``PytorchStreamReader`` / unpickling errors into :class:`DamagedCheckpointError` naming the
  file and the reason.
* :func:`resume_problem` says why a readable checkpoint cannot be *resumed* from (no
  ``meta['epoch']`` / ``meta['iter']`` / ``message_hub``: a weights-only file).
* :func:`resume_candidates` lists the checkpoints of a work dir newest first (the target of
  mmengine's ``last_checkpoint`` pointer, then ``epoch_N.pth`` / ``iter_N.pth`` by N, as
  mmdetection 2.x's ``find_latest_checkpoint``); :func:`newest_resumable` returns the first
  one that reads and resumes, with the reasons the newer ones were skipped.
* :func:`state_dict_mismatch` compares a checkpoint's state dict with a model's.
"""
import os
import os.path as osp
import re
import zipfile
import zlib
from typing import Dict, List, NamedTuple, Optional, Tuple

import torch

from ..checkpoint import UnsafeCheckpointError, load_checkpoint_safely, resolve_checkpoint_path

ZIP_MAGIC = b'PK\x03\x04'
NUMBERED_CHECKPOINT = re.compile(r'^(epoch|iter)_(\d+)\.pth$')


class DamagedCheckpointError(RuntimeError):
    """A checkpoint file cannot be read (truncated, empty, damaged) or cannot be resumed from."""


class CheckpointMismatchError(RuntimeError):
    """A checkpoint's state dict does not fit the model (another model or config)."""


def checkpoint_damage(path: str) -> Optional[str]:
    """Why ``path`` is not a readable checkpoint file, or ``None`` if its container is intact.

    torch's zip format (every ``torch.save`` since torch 1.6) is checked entry by entry
    (central directory present, every CRC right: a truncated file fails here). The legacy
    pickle format has no such structure; it is checked by loading it.
    """
    try:
        size = os.path.getsize(path)
        with open(path, 'rb') as f:
            magic = f.read(4)
    except OSError as err:
        return f'cannot be read ({err.strerror or err})'
    if size == 0:
        return 'is empty (0 bytes): an interrupted write or copy, or a full disk'
    if magic != ZIP_MAGIC:
        return None
    try:
        with zipfile.ZipFile(path) as archive:
            bad_entry = archive.testzip()
    except zipfile.BadZipFile as err:
        return (f'is a truncated or damaged zip archive ({size} bytes; {err}): an interrupted '
                'write or copy, or a full disk')
    except (EOFError, OSError, zlib.error) as err:
        return f'is a damaged zip archive ({size} bytes; {type(err).__name__}: {err})'
    if bad_entry is not None:
        return f'has a damaged entry {bad_entry!r} (CRC mismatch): the file was altered'
    return None


def read_checkpoint(path: str, map_location='cpu') -> Dict:
    """:func:`load_checkpoint_safely` of a file checked by :func:`checkpoint_damage` first.

    Raises:
        DamagedCheckpointError: the file is damaged; the message names it and the reason.
        UnsafeCheckpointError: the file needs a global outside the allow-list.
        FileNotFoundError: no such file (for a ``torchvision://`` / ``open-mmlab://`` / URL
            name: where its file is expected).
    """
    path = resolve_checkpoint_path(str(path))  # torchvision://, open-mmlab://, cached URLs
    damage = checkpoint_damage(path)
    if damage is not None:
        raise DamagedCheckpointError(f'checkpoint {path!r} {damage}')
    try:
        return load_checkpoint_safely(path, map_location=map_location)
    except (UnsafeCheckpointError, FileNotFoundError):
        raise
    except Exception as err:  # torch's reader / the unpickler on a damaged file
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else ''
        raise DamagedCheckpointError(
            f'checkpoint {path!r} cannot be read ({type(err).__name__}: {first_line})'
        ) from err


def resume_problem(checkpoint: Dict) -> Optional[str]:
    """Why a loaded checkpoint cannot be resumed from, or ``None``."""
    if not isinstance(checkpoint.get('state_dict'), dict):
        return "has no 'state_dict' (a bare state dict of weights?)"
    meta = checkpoint.get('meta')
    if not isinstance(meta, dict):
        return "has no 'meta' (a weights-only checkpoint?)"
    absent = [key for key in ('epoch', 'iter') if key not in meta]
    if absent:
        return f"has no meta {absent} (a weights-only checkpoint?)"
    if 'message_hub' not in checkpoint:
        return ("has no 'message_hub' (not written by mmengine's Runner: an mmdetection 2.x "
                'checkpoint?)')
    return None


def resume_candidates(work_dir: str) -> List[str]:
    """The checkpoints of ``work_dir`` to resume from, newest first.

    The file named by mmengine's ``last_checkpoint`` pointer (if it exists), then
    ``epoch_N.pth`` / ``iter_N.pth`` by decreasing N (mmdetection 2.x's order).
    """
    found: List[str] = []
    pointer = osp.join(work_dir, 'last_checkpoint')
    if osp.isfile(pointer):
        with open(pointer) as f:
            target = f.read().strip()
        if target and osp.isfile(target):
            found.append(target)
    numbered = []
    for name in os.listdir(work_dir) if osp.isdir(work_dir) else []:
        match = NUMBERED_CHECKPOINT.match(name)
        if match:
            numbered.append((int(match.group(2)), name))
    for _, name in sorted(numbered, reverse=True):
        path = osp.join(work_dir, name)
        if not any(osp.samefile(path, other) for other in found):
            found.append(path)
    return found


class Resumable(NamedTuple):
    """The checkpoint to resume from (``path``/``checkpoint`` are None when none is usable)
    and ``skipped``: ``(path, reason)`` of each newer checkpoint that could not be used."""
    path: Optional[str]
    checkpoint: Optional[Dict]
    skipped: List[Tuple[str, str]]


def newest_resumable(work_dir: str, map_location='cpu') -> Resumable:
    """The newest checkpoint of ``work_dir`` that reads and can be resumed from."""
    skipped: List[Tuple[str, str]] = []
    for path in resume_candidates(work_dir):
        try:
            checkpoint = read_checkpoint(path, map_location=map_location)
        except (DamagedCheckpointError, UnsafeCheckpointError) as err:
            skipped.append((path, str(err)))
            continue
        problem = resume_problem(checkpoint)
        if problem is not None:
            skipped.append((path, f'checkpoint {path!r} {problem}'))
            continue
        return Resumable(path, checkpoint, skipped)
    return Resumable(None, None, skipped)


class Mismatch(NamedTuple):
    """Keys of the model absent from the checkpoint, keys of the checkpoint the model lacks,
    and ``(key, checkpoint shape, model shape)`` of the keys whose shapes differ."""
    missing: List[str]
    unexpected: List[str]
    shapes: List[Tuple[str, tuple, tuple]]

    def __bool__(self) -> bool:
        return bool(self.missing or self.unexpected or self.shapes)

    def loaded(self, model_state: Dict[str, torch.Tensor]) -> int:
        """How many tensors of ``model_state`` this checkpoint fills."""
        return len(model_state) - len(self.missing) - len(self.shapes)

    def describe(self, first: int = 5) -> str:
        parts = []
        if self.missing:
            parts.append(f'{len(self.missing)} model keys missing from it (first: '
                         f'{self.missing[:first]})')
        if self.unexpected:
            parts.append(f'{len(self.unexpected)} keys the model lacks (first: '
                         f'{self.unexpected[:first]})')
        if self.shapes:
            parts.append(f'{len(self.shapes)} shape mismatches (key, checkpoint shape, model '
                         f'shape; first: {self.shapes[:first]})')
        return '; '.join(parts)


def state_dict_mismatch(model_state: Dict[str, torch.Tensor],
                        loaded: Dict[str, torch.Tensor]) -> Mismatch:
    """Compare a checkpoint's (unwrapped) state dict with ``model.state_dict()``."""
    missing = [k for k in model_state if k not in loaded]
    unexpected = [k for k in loaded if k not in model_state]
    shapes = [(k, tuple(loaded[k].shape), tuple(v.shape)) for k, v in model_state.items()
              if k in loaded and isinstance(loaded[k], torch.Tensor)
              and tuple(loaded[k].shape) != tuple(v.shape)]
    return Mismatch(missing, unexpected, shapes)
