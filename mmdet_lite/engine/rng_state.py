"""The random generators' states, saved in checkpoints so that a resumed run draws the same
numbers as an uninterrupted one (RoI samplers, random augmentation with ``workers_per_gpu=0``,
dropout). mmengine's checkpoints do not hold them; mmdetection 2.x's did not either."""
import random
from typing import Dict

import numpy as np
import torch
from mmengine.hooks import Hook


def rng_state() -> Dict:
    """Python's, numpy's, torch's CPU and (when present) CUDA generator states."""
    version, internal, gauss = random.getstate()
    name, keys, pos, has_gauss, cached = np.random.get_state()
    state = dict(python=dict(version=version, internal=list(internal), gauss=gauss),
                 numpy=dict(name=name, keys=torch.from_numpy(keys.astype(np.int64)), pos=int(pos),
                            has_gauss=int(has_gauss), cached_gaussian=float(cached)),
                 torch=torch.get_rng_state())
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: Dict) -> None:
    """Set the generators to ``state`` (from :func:`rng_state`); CUDA only on as many devices
    as both the state and this machine have."""
    py = state['python']
    random.setstate((py['version'], tuple(py['internal']), py['gauss']))
    npy = state['numpy']
    np.random.set_state((npy['name'], npy['keys'].numpy().astype(np.uint32), npy['pos'],
                         npy['has_gauss'], npy['cached_gaussian']))
    torch.set_rng_state(state['torch'])
    if 'cuda' in state and torch.cuda.is_available():
        for device, cuda_state in enumerate(state['cuda'][:torch.cuda.device_count()]):
            torch.cuda.set_rng_state(cuda_state, device)


class RngContinuityHook(Hook):
    """Makes an epoch-based run resumed after epoch k draw the same random numbers as the
    uninterrupted run, whatever runs between the checkpoint and the next epoch.

    The state stored with a checkpoint (:meth:`LiteRunner.save_checkpoint
    <mmdet_lite.engine.runner.LiteRunner.save_checkpoint>`) is put back at the start of the next
    train epoch in both runs (``runner._rng_at_checkpoint``: set by the save in the uninterrupted
    run, by the resume in the resumed one), so evaluation, the val-loss pass or any hook that
    runs after the save and draws numbers (a DataLoader iterator draws its base seed) changes
    neither run. Checkpoints are written by rank 0: other ranks keep their own streams.
    """

    priority = 'VERY_HIGH'

    def before_train_epoch(self, runner) -> None:
        state = getattr(runner, '_rng_at_checkpoint', None)
        if state is not None:
            restore_rng_state(state)
            runner._rng_at_checkpoint = None
