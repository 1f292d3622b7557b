"""mmengine's Runner with safe checkpoint loading, atomic saves and 2.x checkpoint meta."""
import os
import os.path as osp
import re
from typing import Callable, Dict, Optional, Union

import torch
from mmengine.dist import init_dist, is_distributed, master_only
from mmengine.model import MMDistributedDataParallel, is_model_wrapper
from mmengine.runner import Runner
from mmengine.runner.checkpoint import _load_checkpoint_to_model

from ..checkpoint import ATOMIC_BACKEND, unwrap_state_dict
from .check_invalid_loss_hook import (CheckInvalidLossHook, InvalidLossError,
                                      non_finite_parameters)
from .checkpoint_validation import (CheckpointMismatchError, DamagedCheckpointError,
                                    checkpoint_damage, newest_resumable, read_checkpoint,
                                    resume_candidates, resume_problem, state_dict_mismatch)
from .rng_state import RngContinuityHook, rng_state


def dataset_classes(dataset) -> Optional[tuple]:
    """``CLASSES`` of a (possibly wrapped) dataset, or its ``metainfo['classes']``."""
    for candidate in (dataset, getattr(dataset, 'dataset', None)):
        if candidate is None:
            continue
        classes = getattr(candidate, 'CLASSES', None)
        if classes is None:
            metainfo = getattr(candidate, 'metainfo', None) or {}
            classes = metainfo.get('classes') if isinstance(metainfo, dict) else None
        if classes is not None:
            return tuple(classes)
    return None


def init_distributed(launcher: str, dist_params: Optional[dict] = None) -> None:
    """Initialise torch.distributed for ``launcher``: mmengine's way on GPU, gloo on CPU.

    mmengine's ``init_dist`` calls ``torch.cuda.set_device``, which fails without a GPU.
    """
    if is_distributed():
        return
    dist_params = dict(dist_params or {})
    if torch.cuda.is_available():
        init_dist(launcher, **dist_params)
        return
    if launcher != 'pytorch':
        raise RuntimeError(f'launcher={launcher!r} needs CUDA; on CPU use --launcher pytorch '
                           '(torchrun)')
    dist_params['backend'] = 'gloo'
    dist_params.pop('port', None)
    torch.distributed.init_process_group(**dist_params)


class LiteRunner(Runner):
    """``mmengine.runner.Runner`` adapted to mmdet_lite's checkpoint contract (docs/conventions.md §5).

    * every checkpoint read (``load_from``, ``resume_from``, auto-resume) goes through
      :func:`load_checkpoint_safely` (``torch.load(weights_only=True)``);
    * every save is atomic, records ``meta['CLASSES']`` and the config text
      (``meta['cfg']``, mmengine's key, and ``meta['config']``, mmdetection 2.x's key), and
      points ``latest.pth`` at the newest checkpoint, as mmcv 1.x did;
    * distributed training also works on CPU (gloo, DDP without device ids).
    """

    def register_hooks(self, default_hooks=None, custom_hooks=None) -> None:
        super().register_hooks(default_hooks, custom_hooks)
        self.register_hook(RngContinuityHook())
        if not any(isinstance(hook, CheckInvalidLossHook) for hook in self.hooks):
            self.register_hook(CheckInvalidLossHook(interval=1))

    def train(self) -> torch.nn.Module:
        model = self.model.module if is_model_wrapper(self.model) else self.model
        speed = getattr(model, 'training_speed', None)
        if speed is not None:
            self.logger.info(f'training_speed: {speed.folded_pairs} (conv, BN) pairs fold while '
                             f'the BN is frozen, channels_last={speed.channels_last} (config '
                             'key training_speed, docs/runtime_keys.md)')
        return super().train()

    def setup_env(self, env_cfg: Dict) -> None:
        if self.distributed and not is_distributed():
            init_distributed(self.launcher, env_cfg.get('dist_cfg'))
        super().setup_env(env_cfg)

    def wrap_model(self, model_wrapper_cfg: Optional[Dict], model: torch.nn.Module):
        if (self.distributed and not torch.cuda.is_available() and not is_model_wrapper(model)
                and model_wrapper_cfg is None):
            return MMDistributedDataParallel(
                module=model.to('cpu'), device_ids=None, broadcast_buffers=False,
                find_unused_parameters=self.cfg.get('find_unused_parameters', False))
        return super().wrap_model(model_wrapper_cfg, model)

    def load_checkpoint(self, filename: str,
                        map_location: Union[str, Callable] = 'cpu',
                        strict: bool = False,
                        revise_keys: list = [(r'^module\.', '')]) -> Dict:  # noqa: B006
        preloaded, self._preloaded = getattr(self, '_preloaded', None), None
        if preloaded is not None and preloaded[0] == filename:
            checkpoint = preloaded[1]
        else:
            checkpoint = read_checkpoint(filename, map_location=map_location)
        meta = checkpoint.get('meta')
        if isinstance(meta, dict) and 'config' in meta:
            # mmengine's resume() executes meta['config'] as Python (Config.fromstring): a
            # checkpoint must never run code, so the text is kept under another key.
            meta = dict(meta)
            meta['config_text'] = meta.pop('config')
            checkpoint['meta'] = meta
        if 'state_dict' not in checkpoint:
            checkpoint = {'state_dict': checkpoint, 'meta': {}}
        self.call_hook('after_load_checkpoint', checkpoint=checkpoint)
        model = self.model.module if is_model_wrapper(self.model) else self.model
        self._check_fits_model(model, checkpoint, filename, revise_keys)
        checkpoint = _load_checkpoint_to_model(model, checkpoint, strict, revise_keys=revise_keys)
        self._has_loaded = True
        self.logger.info(f'Load checkpoint from {filename}')
        return checkpoint

    def _check_fits_model(self, model: torch.nn.Module, checkpoint: Dict, filename: str,
                          revise_keys: list) -> None:
        """Resume: the state dict must be this model's, key for key and shape for shape.
        ``load_from``: as mmdetection 2.x / mmengine, missing, unexpected and shape-mismatched
        keys are warned about and keep their initialisation (fine-tuning with another number
        of classes), but a file that fills none of the model's tensors is an error."""
        loaded = unwrap_state_dict(checkpoint, filename)
        for pattern, replacement in revise_keys or []:
            loaded = {re.sub(pattern, replacement, k): v for k, v in loaded.items()}
        own = model.state_dict()
        mismatch = state_dict_mismatch(own, loaded)
        if not mismatch:
            return
        if getattr(self, '_resuming', False):
            raise CheckpointMismatchError(
                f'cannot resume from {filename!r}: it is a checkpoint of another model or '
                f'config: {mismatch.describe()}. Resume with the config that wrote it, or start '
                'from its weights with load_from (which loads the tensors that fit)')
        if mismatch.loaded(own) == 0:
            raise CheckpointMismatchError(
                f'load_from={filename!r} fills none of the model\'s {len(own)} tensors: '
                f'{mismatch.describe()}. Is it a checkpoint of another model (or a backbone-only '
                "file, which belongs in the backbone's init_cfg=dict(type='Pretrained', ...))?")
        self.logger.warning(
            f'load_from={filename!r}: {mismatch.loaded(own)} of the model\'s {len(own)} tensors '
            f'loaded; the rest keep their initialisation (as mmdetection 2.x): '
            f'{mismatch.describe()}')

    def load_or_resume(self) -> None:
        """mmengine's, with auto-resume (``resume=True``, ``load_from=None``) taking the newest
        checkpoint of ``work_dir`` that reads and resumes: newer damaged ones are named with
        the reason and skipped. With none, the config's ``load_from`` applies (2.x)."""
        if self._has_loaded or not (self._resume and self._load_from is None):
            return super().load_or_resume()
        found = newest_resumable(self.work_dir)
        for path, reason in found.skipped:
            self.logger.warning(f'auto-resume: skipping {reason}')
        if found.path is None:
            self._resume = False
            load_from = self.cfg.get('load_from') if self.cfg is not None else None
            log = self.logger.warning if found.skipped else self.logger.info
            log(f'auto-resume: no usable checkpoint in {self.work_dir}; '
                + (f'loading load_from={load_from!r}' if load_from else 'training from the start'))
            if load_from:
                self._load_from = load_from
                self.load_checkpoint(load_from)
                self._has_loaded = True
            return None
        if found.skipped:
            self.logger.warning(f'auto-resume: resuming from {found.path!r}, the newest '
                                'readable checkpoint')
        else:
            self.logger.info(f'auto-resume: resuming from {found.path!r}')
        self._preloaded = (found.path, found.checkpoint)
        self.resume(found.path)
        self._has_loaded = True
        return None

    def resume(self, filename: str, resume_optimizer: bool = True,
               resume_param_scheduler: bool = True,
               map_location: Union[str, Callable] = 'default') -> None:
        if not osp.isfile(filename):
            raise FileNotFoundError(f'resume_from={filename!r}: no such checkpoint file')
        preloaded = getattr(self, '_preloaded', None)
        if preloaded is None or preloaded[0] != filename:
            try:
                checkpoint = read_checkpoint(filename)
            except DamagedCheckpointError as err:
                raise DamagedCheckpointError(f'resume_from: {err}. {_resume_fix(filename)}'
                                             ) from None
            problem = resume_problem(checkpoint)
            if problem is not None:
                raise DamagedCheckpointError(
                    f'cannot resume from {filename!r}: it {problem}; use load_from to start '
                    'from its weights')
            self._preloaded = (filename, checkpoint)
        rng = (self._preloaded[1].get('meta') or {}).get('rng_state')
        self._resuming = True
        try:
            super().resume(filename, resume_optimizer=resume_optimizer,
                           resume_param_scheduler=resume_param_scheduler,
                           map_location=map_location)
        finally:
            self._resuming, self._preloaded = False, None
        if rng is not None:  # put back when the next epoch starts (RngContinuityHook)
            self._rng_at_checkpoint = rng

    @master_only
    def save_checkpoint(self, out_dir: str, filename: str,
                        file_client_args: Optional[dict] = None,
                        save_optimizer: bool = True, save_param_scheduler: bool = True,
                        meta: Optional[dict] = None, by_epoch: bool = True,
                        backend_args: Optional[dict] = None) -> None:
        model = self.model.module if is_model_wrapper(self.model) else self.model
        broken = non_finite_parameters(model)
        if broken:  # a diverged run: keep the last good checkpoint the newest
            raise InvalidLossError(
                f'not saving {osp.join(out_dir, filename)!r}: {len(broken)} parameters are '
                f'infinite or NaN (first: {broken[:5]}); the training diverged at or before '
                f'iteration {self.iter}. The previous checkpoints are kept; lower the learning '
                'rate or set optimizer_config.grad_clip')
        meta = dict(meta or {})
        classes = dataset_classes(self.train_dataloader.dataset)
        if classes is not None:
            meta['CLASSES'] = classes
        if getattr(self, '_config_text', None) is None:  # yapf formatting takes seconds
            self._config_text = self.cfg.pretty_text
        meta['config'] = self._config_text
        meta['rng_state'] = rng_state()
        if by_epoch and not filename.startswith('best'):
            self._rng_at_checkpoint = meta['rng_state']
        if file_client_args is None and (backend_args is None
                                         or backend_args.get('backend') == 'local'):
            backend_args = dict(backend=ATOMIC_BACKEND)
        super().save_checkpoint(out_dir, filename, file_client_args=file_client_args,
                                save_optimizer=save_optimizer,
                                save_param_scheduler=save_param_scheduler, meta=meta,
                                by_epoch=by_epoch, backend_args=backend_args)
        path = osp.join(out_dir, filename)
        damage = checkpoint_damage(path) if osp.isfile(path) else None
        if damage is not None:  # nothing points at it, and max_keep_ckpts deletes nothing
            raise DamagedCheckpointError(
                f'the checkpoint just written, {path!r}, {damage}; check the disk (space, '
                'errors). The previous checkpoints are kept')
        if osp.isdir(out_dir) and filename.endswith('.pth') and not filename.startswith('best'):
            _point_latest(out_dir, filename)


def _resume_fix(filename: str) -> str:
    """What to do when ``resume_from=filename`` is damaged: the newest readable checkpoint
    next to it, or the other ways to start."""
    work_dir = osp.dirname(osp.abspath(filename))
    for candidate in resume_candidates(work_dir):
        if osp.abspath(candidate) != osp.abspath(filename) and checkpoint_damage(
                candidate) is None:
            return (f'Resume from another checkpoint (the newest intact one next to it is '
                    f'{candidate!r}), or use --auto-resume, which skips damaged files')
    return ('No intact checkpoint is next to it: restore the file from a copy, or start '
            'again without resume_from')


def _point_latest(out_dir: str, filename: str) -> None:
    """Make ``out_dir/latest.pth`` a symlink to ``filename`` (replaced atomically)."""
    link = osp.join(out_dir, 'latest.pth')
    tmp_link = osp.join(out_dir, f'.latest.{os.getpid()}.tmp')
    if osp.lexists(tmp_link):
        os.remove(tmp_link)
    try:
        os.symlink(filename, tmp_link)
    except OSError:  # file systems without symlinks: mmengine's last_checkpoint still points
        return
    os.replace(tmp_link, link)
