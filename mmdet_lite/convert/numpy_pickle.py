"""Read pickled weight files (Detectron / detectron2 model-zoo ``.pkl``) without running code.

A pickle can name any importable callable and have the unpickler call it (``os.system`` ...).
Weight files need only numpy arrays and plain containers, so :class:`NumpyOnlyUnpickler`
resolves exactly those globals and refuses every other one before anything is called.
"""
import io
import os.path as osp
import pickle
from typing import Any

from ..checkpoint import UnsafeCheckpointError

# numpy globals that rebuild arrays, scalars and dtypes (numpy 1.x ``numpy.core`` and numpy 2.x
# ``numpy._core`` module names); the per-dtype classes of numpy >= 1.25 end in 'DType'.
_NUMPY_MODULES = ('numpy', 'numpy.core.multiarray', 'numpy._core.multiarray', 'numpy.core.numeric',
                  'numpy._core.numeric', 'numpy.dtypes')
_NUMPY_NAMES = {'_reconstruct', 'scalar', 'ndarray', 'dtype', '_frombuffer'}
_BUILTINS = {'list', 'dict', 'tuple', 'set', 'frozenset', 'bytes', 'bytearray', 'int', 'float',
             'str', 'bool', 'complex', 'slice'}


class NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickles numpy arrays, numpy scalars/dtypes and plain containers; refuses the rest."""

    def find_class(self, module: str, name: str) -> Any:
        if module in _NUMPY_MODULES and (name in _NUMPY_NAMES or name.endswith('DType')):
            return super().find_class(module, name)
        if module in ('builtins', '__builtin__') and name in _BUILTINS:
            return super().find_class(module, name)
        if (module, name) in (('collections', 'OrderedDict'), ('_codecs', 'encode')):
            return super().find_class(module, name)
        raise UnsafeCheckpointError(
            f'refused to unpickle {module}.{name}: a weights file may only hold numpy arrays '
            'and plain containers (dict, list, tuple, numbers, strings)')


def load_numpy_pickle(path: str) -> Any:
    """The object pickled in ``path`` (Python 3 or Python 2 pickles, numpy arrays inside).

    Raises:
        FileNotFoundError: ``path`` is not a file.
        UnsafeCheckpointError: the pickle names a global outside the allow-list (nothing of the
            file has run; the message names the global).
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'weights file {path!r} does not exist')
    with open(path, 'rb') as f:
        data = f.read()
    try:
        # latin1 maps Python 2 byte strings (Detectron's pickles) one-to-one onto str.
        return NumpyOnlyUnpickler(io.BytesIO(data), encoding='latin1').load()
    except UnsafeCheckpointError as err:
        raise UnsafeCheckpointError(f'{path!r}: {err}. The file was not loaded; if it really '
                                    'is a model-zoo weights file, it has been tampered with.'
                                    ) from None
