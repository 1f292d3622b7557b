"""mmengine's Runner with safe checkpoint loading, atomic saves and 2.x checkpoint meta."""
import os
import os.path as osp
from typing import Callable, Dict, Optional, Union

import torch
from mmengine.dist import init_dist, is_distributed, master_only
from mmengine.model import MMDistributedDataParallel, is_model_wrapper
from mmengine.runner import Runner
from mmengine.runner.checkpoint import _load_checkpoint_to_model

from ..checkpoint import ATOMIC_BACKEND, load_checkpoint_safely


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
        checkpoint = load_checkpoint_safely(filename, map_location=map_location)
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
        checkpoint = _load_checkpoint_to_model(model, checkpoint, strict, revise_keys=revise_keys)
        self._has_loaded = True
        self.logger.info(f'Load checkpoint from {filename}')
        return checkpoint

    def resume(self, filename: str, resume_optimizer: bool = True,
               resume_param_scheduler: bool = True,
               map_location: Union[str, Callable] = 'default') -> None:
        if not osp.isfile(filename):
            raise FileNotFoundError(f'resume_from={filename!r}: no such checkpoint file')
        try:
            super().resume(filename, resume_optimizer=resume_optimizer,
                           resume_param_scheduler=resume_param_scheduler,
                           map_location=map_location)
        except KeyError as err:
            raise KeyError(f'cannot resume from {filename!r}: its meta has no {err} (a '
                           'weights-only checkpoint?); use load_from to start from it') from err

    @master_only
    def save_checkpoint(self, out_dir: str, filename: str,
                        file_client_args: Optional[dict] = None,
                        save_optimizer: bool = True, save_param_scheduler: bool = True,
                        meta: Optional[dict] = None, by_epoch: bool = True,
                        backend_args: Optional[dict] = None) -> None:
        meta = dict(meta or {})
        classes = dataset_classes(self.train_dataloader.dataset)
        if classes is not None:
            meta['CLASSES'] = classes
        meta['config'] = self.cfg.pretty_text
        if file_client_args is None and (backend_args is None
                                         or backend_args.get('backend') == 'local'):
            backend_args = dict(backend=ATOMIC_BACKEND)
        super().save_checkpoint(out_dir, filename, file_client_args=file_client_args,
                                save_optimizer=save_optimizer,
                                save_param_scheduler=save_param_scheduler, meta=meta,
                                by_epoch=by_epoch, backend_args=backend_args)
        if osp.isdir(out_dir) and filename.endswith('.pth') and not filename.startswith('best'):
            _point_latest(out_dir, filename)


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
