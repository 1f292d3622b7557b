"""The dataset wrapper behind Mosaic / MixUp / CopyPaste (mmdetection 2.x
``MultiImageMixDataset``)."""
import copy
from typing import List, Optional, Sequence

from torch.utils.data import Dataset

from ..registry import DATASETS, TRANSFORMS
from .dataset_wrappers import require_built
from ..core.utils.errors import ConfigValueError


@DATASETS.register_module()
class MultiImageMixDataset(Dataset):
    """Run ``pipeline`` on samples of ``dataset``, feeding mixing transforms other samples.

    The inner dataset's own pipeline only loads (image and annotations). For a transform with
    ``get_indexes(dataset)`` (Mosaic, MixUp, CopyPaste) the samples at those indices are
    loaded into ``results['mix_results']`` first; ``mix_results`` is removed afterwards.
    A transform returning ``None`` is retried (fresh randomness), up to ``max_refetch`` times.

    Args:
        dataset: the built inner dataset.
        pipeline: transform configs.
        dynamic_scale: removed in 2.x; an error (use a ``Resize`` in the pipeline).
        skip_type_keys: transform types to skip (``YOLOXModeSwitchHook`` turns Mosaic and
            MixUp off for the last epochs through ``update_skip_type_keys``).
        max_refetch: tries for mixing samples and for a transform that returns ``None``.
    """

    def __init__(self, dataset, pipeline: Sequence[dict], dynamic_scale=None,
                 skip_type_keys: Optional[Sequence[str]] = None, max_refetch: int = 15):
        if dynamic_scale is not None:
            raise ConfigValueError('MultiImageMixDataset: dynamic_scale was removed in mmdetection '
                                   '2.x; put a Resize transform in the pipeline instead')
        self.dataset = require_built(dataset, 'MultiImageMixDataset')
        self._skip_type_keys = self._check_types(skip_type_keys)
        self.pipeline = []
        self.pipeline_types: List[str] = []
        for transform in pipeline:
            if not isinstance(transform, dict) or 'type' not in transform:
                raise TypeError(f'MultiImageMixDataset pipeline entries must be config dicts '
                                f'with a "type", got {transform!r}')
            self.pipeline_types.append(transform['type'])
            self.pipeline.append(TRANSFORMS.build(copy.deepcopy(transform)))
        self.CLASSES = dataset.CLASSES
        self.PALETTE = getattr(dataset, 'PALETTE', None)
        if hasattr(dataset, 'flag'):
            self.flag = dataset.flag
        self.num_samples = len(dataset)
        self.max_refetch = max_refetch

    @staticmethod
    def _check_types(skip_type_keys: Optional[Sequence[str]]) -> Optional[List[str]]:
        if skip_type_keys is None:
            return None
        if not all(isinstance(k, str) for k in skip_type_keys):
            raise TypeError(f'skip_type_keys must be transform type names, got {skip_type_keys}')
        return list(skip_type_keys)

    @property
    def metainfo(self) -> dict:
        return dict(classes=self.CLASSES)

    def __len__(self) -> int:
        return self.num_samples

    def get_ann_info(self, idx: int) -> dict:
        return self.dataset.get_ann_info(idx)

    def _mix_results(self, transform) -> List[dict]:
        for _ in range(self.max_refetch):
            indexes = transform.get_indexes(self.dataset)
            if not isinstance(indexes, (list, tuple)):
                indexes = [indexes]
            mixed = [copy.deepcopy(self.dataset[i]) for i in indexes]
            if None not in mixed:
                return mixed
        raise RuntimeError(f'MultiImageMixDataset: the inner dataset returned None for the '
                           f'mixing samples of {type(transform).__name__} {self.max_refetch} '
                           'times; check its loading pipeline')

    def __getitem__(self, idx: int) -> dict:
        results = copy.deepcopy(self.dataset[idx])
        for transform, type_name in zip(self.pipeline, self.pipeline_types):
            if self._skip_type_keys is not None and type_name in self._skip_type_keys:
                continue
            if hasattr(transform, 'get_indexes'):
                results['mix_results'] = self._mix_results(transform)
            for _ in range(self.max_refetch):
                updated = transform(copy.deepcopy(results))
                if updated is not None:
                    results = updated
                    break
            else:
                raise RuntimeError(f'MultiImageMixDataset: {type_name} returned None '
                                   f'{self.max_refetch} times for sample {idx}')
            results.pop('mix_results', None)
        return results

    def update_skip_type_keys(self, skip_type_keys: Sequence[str]) -> None:
        """Skip these transform types from now on (``YOLOXModeSwitchHook``)."""
        self._skip_type_keys = self._check_types(skip_type_keys)
