"""Shared by tools/train.py and tools/test.py: the ``--device`` / ``--launcher`` /
``--local_rank`` options and what they resolve to."""
import argparse
import os
from typing import Optional

import torch


def add_launch_args(parser: argparse.ArgumentParser) -> None:
    """Add ``--device``, ``--launcher`` and ``--local_rank`` (alias ``--local-rank``)."""
    parser.add_argument('--device', choices=['cpu', 'cuda'], default=None,
                        help='device (default: cuda when available, else cpu)')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def export_local_rank(local_rank: int) -> None:
    """Set ``LOCAL_RANK`` from ``--local_rank`` unless the launcher already set it."""
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(local_rank)


def resolve_device(device: Optional[str]) -> str:
    """``--device`` or, when not given, 'cuda' if available else 'cpu'; refuses an absent GPU."""
    if device == 'cuda' and not torch.cuda.is_available():
        raise RuntimeError('--device cuda was given but CUDA is not available')
    return device or ('cuda' if torch.cuda.is_available() else 'cpu')
