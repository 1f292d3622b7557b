from .inference import (async_inference_detector, inference_detector, init_detector,
                        result_to_dict, show_result_pyplot)

__all__ = [
    'init_detector', 'async_inference_detector', 'inference_detector', 'show_result_pyplot',
    'result_to_dict'
]
