"""Class names of the standard datasets (mmdetection 2.x ``get_classes``)."""
from typing import List


def voc_classes() -> List[str]:
    return ['aeroplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus', 'car', 'cat', 'chair',
            'cow', 'diningtable', 'dog', 'horse', 'motorbike', 'person', 'pottedplant', 'sheep',
            'sofa', 'train', 'tvmonitor']


def coco_classes() -> List[str]:
    return [
        'person', 'bicycle', 'car', 'motorcycle', 'airplane', 'bus', 'train', 'truck', 'boat',
        'traffic light', 'fire hydrant', 'stop sign', 'parking meter', 'bench', 'bird', 'cat',
        'dog', 'horse', 'sheep', 'cow', 'elephant', 'bear', 'zebra', 'giraffe', 'backpack',
        'umbrella', 'handbag', 'tie', 'suitcase', 'frisbee', 'skis', 'snowboard', 'sports ball',
        'kite', 'baseball bat', 'baseball glove', 'skateboard', 'surfboard', 'tennis racket',
        'bottle', 'wine glass', 'cup', 'fork', 'knife', 'spoon', 'bowl', 'banana', 'apple',
        'sandwich', 'orange', 'broccoli', 'carrot', 'hot dog', 'pizza', 'donut', 'cake', 'chair',
        'couch', 'potted plant', 'bed', 'dining table', 'toilet', 'tv', 'laptop', 'mouse',
        'remote', 'keyboard', 'cell phone', 'microwave', 'oven', 'toaster', 'sink',
        'refrigerator', 'book', 'clock', 'vase', 'scissors', 'teddy bear', 'hair drier',
        'toothbrush'
    ]


def shapes_classes() -> List[str]:
    return ['circle', 'triangle', 'square', 'star']


_ALIASES = {
    'voc': ['voc', 'pascal_voc', 'voc07', 'voc12'],
    'coco': ['coco', 'mscoco', 'ms_coco'],
    'shapes': ['shapes'],
}


def get_classes(dataset: str) -> List[str]:
    """Class names of ``dataset`` ('voc', 'voc07', 'coco', 'shapes', ...)."""
    for name, aliases in _ALIASES.items():
        if dataset in aliases:
            return globals()[f'{name}_classes']()
    known = sorted(a for aliases in _ALIASES.values() for a in aliases)
    raise ValueError(f'unknown dataset {dataset!r} for get_classes; known: {known}')
