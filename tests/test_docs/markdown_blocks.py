"""Run the code blocks of a markdown page: ``# file: PATH`` Python blocks are written under a
project folder, ``shell`` blocks' ``python tools/X.py ...`` commands are run in-process through
the tool's ``main(argv)`` (with options a test appends to shrink the run)."""
import importlib.util
import os
import os.path as osp
import re
import shlex
from typing import Any, Callable, List, Optional, Tuple

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
FILE_MARK = '# file: '


def code_blocks(markdown: str) -> List[Tuple[str, str]]:
    """``(language, body)`` of every fenced block of the file ``markdown``, in order."""
    with open(markdown) as f:
        return re.findall(r'^```(\w+)\n(.*?)^```', f.read(), flags=re.S | re.M)


def write_file_blocks(project: Any, blocks: List[Tuple[str, str]]) -> List[str]:
    """Write every ``# file: PATH`` Python block to ``project/PATH``; returns the paths."""
    written = []
    for lang, body in blocks:
        if lang == 'python' and body.startswith(FILE_MARK):
            relative = body.splitlines()[0][len(FILE_MARK):].strip()
            path = osp.join(str(project), relative)
            os.makedirs(osp.dirname(path), exist_ok=True)
            with open(path, 'w') as f:
                f.write(body)
            written.append(relative)
    return written


def shell_commands(block: str) -> List[List[str]]:
    """The commands of a shell block (continuation lines joined, comments dropped)."""
    joined = block.replace('\\\n', ' ')
    return [shlex.split(line, comments=True) for line in joined.splitlines()
            if line.strip() and not line.strip().startswith('#')]


def load_tool(relative_path: str) -> Any:
    path = osp.join(REPO, relative_path)
    name = 'doc_tool_' + osp.splitext(relative_path)[0].replace('/', '_')
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_shell_block(block: str, extra_options: Optional[Callable[[List[str]], List[str]]] = None
                    ) -> List[Tuple[List[str], Any]]:
    """Run each ``python tools/....py ARGS`` command of ``block`` as ``main(ARGS [+
    --cfg-options EXTRA])``; returns ``(argv, what main returned)`` per command."""
    results = []
    for argv in shell_commands(block):
        if argv[:1] != ['python'] or not argv[1].startswith('tools/'):
            raise ValueError(f'only `python tools/...` commands can be run, got {argv}')
        args = argv[2:]
        extra = extra_options(argv) if extra_options is not None else []
        if extra:
            args = args + ['--cfg-options'] + extra
        results.append((argv, load_tool(argv[1]).main(args)))
    return results
