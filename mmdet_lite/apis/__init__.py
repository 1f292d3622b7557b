from .inference import (async_inference_detector, inference_detector, init_detector,
                        result_to_dict, show_result_pyplot)
from .test import multi_gpu_test, single_gpu_test
from .train import set_random_seed, train_detector

__all__ = [
    'init_detector', 'async_inference_detector', 'inference_detector', 'show_result_pyplot',
    'result_to_dict', 'multi_gpu_test', 'single_gpu_test', 'set_random_seed', 'train_detector'
]
