"""Detect objects in one image or a folder of images and save the drawn results.

    python demo/image_demo.py IMG_OR_DIR CONFIG CHECKPOINT --out-dir OUT [--score-thr 0.3]
"""
import argparse
from typing import List, Optional

from mmdet_lite.apis import init_detector
from mmdet_lite.apis.demo import detect_images, list_images, summarize_result


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='mmdet_lite image demo')
    parser.add_argument('img', help='an image file or a folder of images')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out-dir', default=None,
                        help='save the drawn images there (same file names)')
    parser.add_argument('--device', default=None, help="e.g. 'cpu' or 'cuda:0' (default: "
                        'cuda:0 when available, else cpu)')
    parser.add_argument('--score-thr', type=float, default=0.3, help='bbox score threshold')
    parser.add_argument('--batch-size', type=int, default=1, help='images per forward pass')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    files = list_images(args.img)
    model = init_detector(args.config, args.checkpoint, device=args.device)
    results = detect_images(model, files, out_dir=args.out_dir, score_thr=args.score_thr,
                            batch_size=args.batch_size)
    print()
    for file, result in zip(files, results):
        print(f'{file}: {summarize_result(result, model.CLASSES, args.score_thr)}')
    if args.out_dir is not None:
        print(f'drawn results saved to {args.out_dir}')


if __name__ == '__main__':
    main()
