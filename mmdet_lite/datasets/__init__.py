from . import pipelines, samplers  # noqa: F401 (registers)
from .annotation_error import AnnotationError, DuplicateIdError
from .builder import DATASETS, PIPELINES, build_dataset
from .cityscapes import CityscapesDataset
from .class_balanced import ClassBalancedDataset
from .coco import CocoDataset
from .coco_panoptic import CocoPanopticDataset
from .collate import mmdet_collate
from .custom import CustomDataset
from .deepfashion import DeepFashionDataset
from .lvis import LVISDataset, LVISV05Dataset, LVISV1Dataset
from .dataset_wrappers import ConcatDataset, RepeatDataset
from .multi_image_mix import MultiImageMixDataset
from .objects365 import Objects365V1Dataset, Objects365V2Dataset
from .pipeline_utils import get_loading_pipeline, replace_ImageToTensor
from .samplers import DistributedGroupSampler, GroupSampler
from .shapes import ShapesDataset, generate_shapes
from .utils import check_num_classes
from .voc import VOCDataset
from .wider_face import WIDERFaceDataset
from .xml_style import XMLDataset

__all__ = [
    'DATASETS', 'PIPELINES', 'build_dataset', 'mmdet_collate', 'CocoDataset', 'CustomDataset',
    'ConcatDataset', 'RepeatDataset', 'DistributedGroupSampler', 'GroupSampler', 'ShapesDataset',
    'generate_shapes', 'check_num_classes', 'VOCDataset', 'XMLDataset', 'ClassBalancedDataset',
    'MultiImageMixDataset', 'CityscapesDataset', 'DeepFashionDataset', 'WIDERFaceDataset',
    'LVISDataset', 'LVISV05Dataset', 'LVISV1Dataset', 'CocoPanopticDataset',
    'Objects365V1Dataset', 'Objects365V2Dataset', 'get_loading_pipeline',
    'replace_ImageToTensor', 'AnnotationError', 'DuplicateIdError'
]
