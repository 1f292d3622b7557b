from .albu import Albu
from .auto_augment import AutoAugment
from .canvas import Expand, RandomShift
from .compose import Compose
from .corrupt import Corrupt
from .crops import MinIoURandomCrop, RandomCenterCropPad, RandomCrop
from .filter_annotations import FilterAnnotations
from .formatting import (Collect, DefaultFormatBundle, ImageToTensor, ToDataContainer, ToTensor,
                         Transpose, WrapFieldsToLists, to_tensor)
from .geometric import Rotate, Shear, Translate
from .instaboost import InstaBoost
from .loading import LoadAnnotations, LoadImageFromFile, LoadImageFromWebcam, LoadProposals
from .mix_transforms import CopyPaste, MixUp, Mosaic
from .panoptic_loading import LoadPanopticAnnotations
from .photometric import (BrightnessTransform, ColorTransform, ContrastTransform, CutOut,
                          EqualizeTransform, PhotoMetricDistortion, YOLOXHSVRandomAug)
from .random_affine import RandomAffine
from .test_time_aug import MultiScaleFlipAug
from .transforms import Normalize, Pad, RandomFlip, Resize, SegRescale

__all__ = [
    'Albu', 'AutoAugment', 'Corrupt', 'Expand', 'RandomShift', 'Compose', 'MinIoURandomCrop',
    'RandomCenterCropPad', 'RandomCrop', 'FilterAnnotations', 'Collect', 'DefaultFormatBundle',
    'ImageToTensor', 'ToDataContainer', 'ToTensor', 'Transpose', 'WrapFieldsToLists',
    'to_tensor', 'Rotate', 'Shear', 'Translate', 'InstaBoost', 'LoadAnnotations',
    'LoadImageFromFile', 'LoadImageFromWebcam', 'LoadProposals', 'CopyPaste', 'MixUp', 'Mosaic',
    'LoadPanopticAnnotations', 'BrightnessTransform', 'ColorTransform', 'ContrastTransform',
    'CutOut', 'EqualizeTransform', 'PhotoMetricDistortion', 'YOLOXHSVRandomAug',
    'RandomAffine', 'MultiScaleFlipAug', 'Normalize', 'Pad', 'RandomFlip', 'Resize',
    'SegRescale'
]
