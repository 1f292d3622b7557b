"""Convert detectron2 model-zoo weights (or Detectron ImageNet ResNets) to mmdet_lite names.

detectron2 R50-FPN Faster / Mask R-CNN (``.pkl`` from the model zoo, or a detectron2 ``.pth``)::

    python tools/model_converters/detectron2pytorch.py model_final_f10217.pkl mask_rcnn_d2.pth
    python tools/test.py configs/detectron2/mask_rcnn_r50_fpn_d2.py mask_rcnn_d2.pth \
        --eval bbox segm

Detectron's ImageNet ResNet (mmdetection 2.x's use: ``src dst depth``)::

    python tools/model_converters/detectron2pytorch.py R-50.pkl resnet50_caffe.pth 50

``.pkl`` files are read by an unpickler that only admits numpy arrays and plain containers:
a weights file never runs code. See mmdet_lite/convert/detectron2_convert.py for the names.
"""
import argparse
import os.path as osp
from typing import List, Optional

from mmdet_lite.checkpoint import load_checkpoint_safely, save_checkpoint_atomic
from mmdet_lite.convert.detectron2_convert import (convert_detectron2_state_dict,
                                                   convert_detectron_resnet, is_detectron_blobs)
from mmdet_lite.convert.numpy_pickle import load_numpy_pickle


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Convert model keys')
    parser.add_argument('src', help='src detectron model path (.pkl or detectron2 .pth)')
    parser.add_argument('dst', help='save path')
    parser.add_argument('depth', type=int, nargs='?', default=None,
                        help='ResNet model depth (only for Detectron ImageNet blobs)')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> str:
    """Convert ``src`` to ``dst`` ({'state_dict': ..., 'meta': ...}); returns ``dst``."""
    args = parse_args(argv)
    if args.src.endswith('.pkl'):
        obj = load_numpy_pickle(args.src)
    else:
        obj = load_checkpoint_safely(args.src)
    if not isinstance(obj, dict):
        raise TypeError(f'{args.src!r} holds a {type(obj).__name__}, expected a dict')
    if is_detectron_blobs(obj):
        if args.depth is None:
            raise ValueError(f'{args.src!r} holds Detectron blobs (an ImageNet ResNet): give its '
                             'depth as the third argument, e.g. 50')
        state_dict, skipped = convert_detectron_resnet(obj, args.depth)
        source = 'Detectron ImageNet ResNet'
    else:
        model = obj.get('model', obj)
        state_dict, skipped = convert_detectron2_state_dict(model), []
        source = f"detectron2 ({obj.get('__author__', 'unknown author')})"
    for name in skipped:
        print(f'Not Convert: {name}')
    meta = dict(converted_from=osp.basename(args.src), source=source)
    save_checkpoint_atomic(dict(state_dict=state_dict, meta=meta), args.dst)
    print(f'saved {len(state_dict)} tensors to {args.dst}')
    return args.dst


if __name__ == '__main__':
    main()
