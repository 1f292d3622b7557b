"""mmengine's IterBasedTrainLoop, resuming without loading the batches it skips."""
from mmengine.runner import IterBasedTrainLoop
from torch.utils.data import DataLoader

from ..registry import LOOPS


def _set_sampler_epoch(loader: DataLoader, epoch: int) -> None:
    sampler = getattr(loader, 'sampler', None)
    if not hasattr(sampler, 'set_epoch'):
        sampler = getattr(getattr(loader, 'batch_sampler', None), 'sampler', None)
    if hasattr(sampler, 'set_epoch'):
        sampler.set_epoch(epoch)


def skip_batches(infinite_iterator, count: int) -> int:
    """Advance mmengine's ``_InfiniteDataloaderIterator`` by ``count`` batches; returns how many
    were loaded (only those the workers had already been asked for).

    Whole passes are skipped by moving the sampler's epoch on, as the iterator does at each
    restart; within a pass the DataLoader iterator's index sampler is advanced, so the skipped
    batches are never read. Order and content of the following batches are those that loading
    and discarding would give.
    """
    loader = infinite_iterator._dataloader
    passes, rest = divmod(count, len(loader))
    if passes:
        infinite_iterator._epoch += passes
        _set_sampler_epoch(loader, infinite_iterator._epoch)
        infinite_iterator._iterator = iter(loader)
    inner = infinite_iterator._iterator
    # batches already requested from the workers (0 without workers)
    requested = getattr(inner, '_send_idx', 0) - getattr(inner, '_rcvd_idx', 0)
    for _ in range(max(rest - requested, 0)):
        next(inner._sampler_iter)
    loaded = min(rest, requested)
    for _ in range(loaded):
        next(inner)
    return loaded


@LOOPS.register_module()
class LiteIterBasedTrainLoop(IterBasedTrainLoop):
    """``IterBasedTrainLoop`` whose resume skips the trained batches without loading them.

    mmengine 0.10.7 loads (reads, decodes, augments) every batch of the iterations already
    trained to skip them, with a 2 s pause at each pass over the data: a run resumed at
    iteration 60000 spends hours before its first iteration. mmdetection 2.x did not skip data
    at all; here the data order is the uninterrupted run's, at no cost.
    """

    def run(self):
        self.runner.call_hook('before_train')
        self.runner.call_hook('before_train_epoch')
        if self._iter > 0:
            loaded = skip_batches(self.dataloader_iterator, self._iter)
            self.runner.logger.info(f'resumed at iteration {self._iter}: skipped the trained '
                                    f'batches (loaded {loaded} already requested ones)')
        while self._iter < self._max_iters and not self.stop_training:
            self.runner.model.train()
            data_batch = next(self.dataloader_iterator)
            self.run_iter(data_batch)
            self._decide_current_val_interval()
            if (self.runner.val_loop is not None and self._iter >= self.val_begin
                    and (self._iter % self.val_interval == 0 or self._iter == self._max_iters)):
                self.runner.val_loop.run()
        self.runner.call_hook('after_train_epoch')
        self.runner.call_hook('after_train')
        return self.runner.model
