"""mmengine's CheckpointHook, reordered so that no step leaves the run without a checkpoint."""
import os.path as osp

from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook

from ..checkpoint import atomic_write_bytes
from ..registry import HOOKS


@HOOKS.register_module()
class SafeCheckpointHook(CheckpointHook):
    """``CheckpointHook`` (same arguments) whose saving order never loses the last checkpoint.

    mmengine 0.10.7 deletes the oldest checkpoint of ``max_keep_ckpts`` *before* writing the
    new one (with ``max_keep_ckpts=1`` a failed save, e.g. a full disk, leaves no checkpoint at
    all) and writes the ``last_checkpoint`` pointer with a plain ``open``. Here the new file is
    written first (atomically, and read back by :meth:`LiteRunner.save_checkpoint
    <mmdet_lite.engine.runner.LiteRunner.save_checkpoint>`), then ``last_checkpoint`` is
    replaced atomically, and only then are outdated checkpoints deleted. The ``keep_ckpt_ids``
    stored in the checkpoint are the same as mmengine's.
    """

    def _save_checkpoint_with_step(self, runner, step: int, meta: dict) -> None:
        outdated = []
        if self.max_keep_ckpts > 0 and not (self.keep_ckpt_ids
                                            and self.keep_ckpt_ids[-1] == step):
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                outdated.append(self.keep_ckpt_ids.popleft())
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info('keep_ckpt_ids', list(self.keep_ckpt_ids))

        ckpt_filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir, ckpt_filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        runner.save_checkpoint(
            self.out_dir, ckpt_filename, self.file_client_args,
            save_optimizer=self.save_optimizer, save_param_scheduler=self.save_param_scheduler,
            meta=meta, by_epoch=self.by_epoch, backend_args=self.backend_args, **self.args)
        if not is_main_process():
            return
        atomic_write_bytes(str(self.last_ckpt).encode(), osp.join(runner.work_dir,
                                                                 'last_checkpoint'))
        for old_step in outdated:
            path = self.file_backend.join_path(self.out_dir, self.filename_tmpl.format(old_step))
            if self.file_backend.isfile(path):
                self.file_backend.remove(path)
            elif self.file_backend.isdir(path):
                self.file_backend.rmtree(path)
