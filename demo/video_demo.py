"""Detect objects in every frame of a video (or a webcam) and write the drawn video.

    python demo/video_demo.py VIDEO CONFIG CHECKPOINT --out OUT.mp4 [--score-thr 0.3]
    python demo/video_demo.py - CONFIG CHECKPOINT --camera-id 0 --show
"""
import argparse
from typing import List, Optional

from mmdet_lite.apis import init_detector
from mmdet_lite.apis.demo import detect_video


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='mmdet_lite video demo')
    parser.add_argument('video', help="video file ('-' with --camera-id)")
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', default=None, help='output video file (.mp4, mp4v codec)')
    parser.add_argument('--camera-id', type=int, default=None,
                        help='read this camera instead of the video file')
    parser.add_argument('--device', default=None, help="e.g. 'cpu' or 'cuda:0'")
    parser.add_argument('--score-thr', type=float, default=0.3, help='bbox score threshold')
    parser.add_argument('--show', action='store_true', help='show the frames in a window')
    parser.add_argument('--wait-time', type=int, default=1,
                        help='milliseconds each shown frame waits')
    parser.add_argument('--max-frames', type=int, default=None, help='stop after N frames')
    args = parser.parse_args(argv)
    if args.out is None and not args.show:
        parser.error('nothing to do: give --out OUT.mp4 and/or --show')
    return args


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    source = args.camera_id if args.camera_id is not None else args.video
    model = init_detector(args.config, args.checkpoint, device=args.device)
    count = detect_video(model, source, out_file=args.out, score_thr=args.score_thr,
                         show=args.show, wait_time=args.wait_time, max_frames=args.max_frames)
    print(f'\n{count} frames processed' + (f', written to {args.out}' if args.out else ''))


if __name__ == '__main__':
    main()
