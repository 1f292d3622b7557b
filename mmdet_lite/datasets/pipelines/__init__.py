from .compose import Compose
from .formatting import (Collect, DefaultFormatBundle, ImageToTensor, ToTensor, Transpose,
                         WrapFieldsToLists, to_tensor)
from .loading import LoadAnnotations, LoadImageFromFile, LoadImageFromWebcam, LoadProposals
from .test_time_aug import MultiScaleFlipAug
from .transforms import Normalize, Pad, PhotoMetricDistortion, RandomFlip, Resize

__all__ = [
    'Compose', 'Collect', 'DefaultFormatBundle', 'ImageToTensor', 'ToTensor', 'Transpose',
    'WrapFieldsToLists', 'to_tensor', 'LoadAnnotations', 'LoadImageFromFile',
    'LoadImageFromWebcam', 'LoadProposals', 'MultiScaleFlipAug', 'Normalize', 'Pad',
    'PhotoMetricDistortion', 'RandomFlip', 'Resize'
]
