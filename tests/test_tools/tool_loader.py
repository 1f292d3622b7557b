"""Import scripts of tools/ and demo/ as modules, so tests call their ``main(argv)`` in-process
(no interpreter start-up per tool)."""
import importlib.util
import os.path as osp
from types import ModuleType

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def load_tool(relative_path: str) -> ModuleType:
    """The script at ``REPO/relative_path`` as a module."""
    path = osp.join(REPO, relative_path)
    name = 'tool_' + osp.splitext(relative_path)[0].replace('/', '_')
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
