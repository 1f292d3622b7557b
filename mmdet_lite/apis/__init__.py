from .builder import build_detector_from_config, load_config
from .inference import (async_inference_detector, inference_detector, init_detector,
                        result_to_dict, show_result_pyplot)
from .test import (build_test_data, build_test_dataset, evaluate_results, multi_gpu_test,
                   single_gpu_test)
from .train import set_random_seed, train_detector

__all__ = [
    'build_detector_from_config', 'load_config', 'init_detector', 'async_inference_detector',
    'inference_detector', 'show_result_pyplot', 'result_to_dict', 'build_test_data',
    'build_test_dataset', 'evaluate_results', 'multi_gpu_test', 'single_gpu_test',
    'set_random_seed', 'train_detector'
]
