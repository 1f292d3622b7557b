"""Edits of pipeline configs (lists of transform dicts) at 2.x's path ``mmdet.datasets``.

``replace_ImageToTensor`` turns a single-image test pipeline into a batchable one;
``get_loading_pipeline`` keeps only the loading steps (what a tool that re-reads the images
and annotations of a dataset needs).
"""
import copy
import warnings
from typing import List, Sequence

LOADING_TYPES = ('LoadImageFromFile', 'LoadAnnotations', 'LoadPanopticAnnotations')


def replace_ImageToTensor(pipelines: Sequence[dict]) -> List[dict]:
    """A copy of ``pipelines`` with each ``ImageToTensor`` (also inside ``MultiScaleFlipAug``)
    replaced by ``DefaultFormatBundle``, which batched inference needs; warns for each one."""
    out = []
    for step in pipelines:
        step = copy.deepcopy(dict(step))
        if step['type'] == 'MultiScaleFlipAug':
            step['transforms'] = replace_ImageToTensor(step.get('transforms', []))
        elif step['type'] == 'ImageToTensor':
            warnings.warn('"ImageToTensor" is replaced by "DefaultFormatBundle" for batch '
                          'inference; write DefaultFormatBundle in the test pipeline of the '
                          'config instead', UserWarning)
            step = dict(type='DefaultFormatBundle')
        out.append(step)
    return out


def get_loading_pipeline(pipeline: Sequence[dict]) -> List[dict]:
    """The image/annotation loading steps of a (training) pipeline config."""
    loading = [copy.deepcopy(dict(step)) for step in pipeline if step['type'] in LOADING_TYPES]
    if not any(step['type'] == 'LoadImageFromFile' for step in loading):
        raise ValueError('the pipeline has no LoadImageFromFile step to load images with')
    return loading
