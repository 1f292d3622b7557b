"""mmdetection 2.x's MemoryProfilerHook: log system and process memory every few iterations."""
import importlib
from typing import Optional

from mmengine.hooks import Hook

from ..registry import HOOKS

MB = 1024 * 1024


@HOOKS.register_module()
class MemoryProfilerHook(Hook):
    """Every ``interval`` train/val/test iterations, log available and used memory, swap and
    the memory of this process, in MB (2.x's message). Needs ``psutil`` (2.x also needed
    ``memory_profiler``, which only read the process memory through psutil).

    Args:
        interval: log every ``interval`` iterations.
    """

    def __init__(self, interval: int = 50) -> None:
        try:
            self._psutil = importlib.import_module('psutil')
        except ImportError as err:
            raise ImportError('MemoryProfilerHook needs the psutil package: pip install '
                              'psutil (or remove the hook from custom_hooks)') from err
        self.interval = interval

    def _log(self, runner) -> None:
        virtual = self._psutil.virtual_memory()
        swap = self._psutil.swap_memory()
        process = self._psutil.Process().memory_info().rss
        runner.logger.info(
            'Memory information '
            f'available_memory: {round(virtual.available / MB)} MB, '
            f'used_memory: {round(virtual.used / MB)} MB, '
            f'memory_utilization: {virtual.percent} %, '
            f'available_swap_memory: {round((swap.total - swap.used) / MB)} MB, '
            f'used_swap_memory: {round(swap.used / MB)} MB, '
            f'swap_memory_utilization: {swap.percent} %, '
            f'current_process_memory: {round(process / MB)} MB')

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        if self.every_n_train_iters(runner, self.interval):
            self._log(runner)

    def after_val_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if self.every_n_inner_iters(batch_idx, self.interval):
            self._log(runner)

    def after_test_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if self.every_n_inner_iters(batch_idx, self.interval):
            self._log(runner)
