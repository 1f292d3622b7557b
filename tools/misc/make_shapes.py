"""Generate the built-in synthetic "shapes" dataset (COCO format) into a folder.

    python tools/misc/make_shapes.py data/shapes --num-train 300 --num-val 50
"""
import argparse

from mmdet_lite.datasets.shapes import generate_shapes


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Generate the shapes demo dataset')
    parser.add_argument('out_dir', nargs='?', default='data/shapes', help='output folder')
    parser.add_argument('--num-train', type=int, default=300)
    parser.add_argument('--num-val', type=int, default=50)
    parser.add_argument('--img-size', type=int, default=128)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--overwrite', action='store_true',
                        help='regenerate even if the folder holds data made with these settings')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    paths = generate_shapes(args.out_dir, num_train=args.num_train, num_val=args.num_val,
                            img_size=args.img_size, seed=args.seed, overwrite=args.overwrite)
    for split, path in paths.items():
        print(f'{split}: {path}')


if __name__ == '__main__':
    main()
