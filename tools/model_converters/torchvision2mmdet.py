"""Convert a torchvision Faster/Mask R-CNN R50-FPN checkpoint into an mmdet_lite checkpoint.

Example::

    python tools/model_converters/torchvision2mmdet.py \
        maskrcnn_resnet50_fpn_coco-bf2d0c1e.pth mask_rcnn_r50_fpn_tv_coco.pth
    python tools/test.py configs/torchvision/mask_rcnn_r50_fpn_tv.py \
        mask_rcnn_r50_fpn_tv_coco.pth --eval bbox segm
"""
import argparse
import os.path as osp

from mmdet_lite.checkpoint import load_checkpoint_safely, save_checkpoint_atomic
from mmdet_lite.convert.torchvision_convert import torchvision_to_mmdet_checkpoint


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Convert torchvision fasterrcnn/maskrcnn_resnet50_fpn weights to mmdet_lite')
    parser.add_argument('src', help='torchvision checkpoint (a state dict saved with torch.save)')
    parser.add_argument('dst', help='output mmdet_lite checkpoint path')
    parser.add_argument('--class-ids', type=int, nargs='+', default=None,
                        help='torchvision class indices to keep, in label order (default: the '
                             '80 used COCO ids for a 91-class predictor, else all)')
    parser.add_argument('--class-names', nargs='+', default=None,
                        help='one name per kept class (default: torchvision COCO names)')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if not osp.isfile(args.src):
        raise FileNotFoundError(f'torchvision checkpoint {args.src} does not exist')
    tv_state_dict = load_checkpoint_safely(args.src)
    checkpoint = torchvision_to_mmdet_checkpoint(tv_state_dict, class_ids=args.class_ids,
                                                 class_names=args.class_names)
    save_checkpoint_atomic(checkpoint, args.dst)
    meta = checkpoint['meta']
    print(f"saved {len(checkpoint['state_dict'])} tensors, {len(meta['CLASSES'])} classes "
          f"(mask head: {meta['with_mask']}) to {args.dst}")


if __name__ == '__main__':
    main()
