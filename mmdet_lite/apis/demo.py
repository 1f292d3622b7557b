"""The loops behind ``demo/image_demo.py`` and ``demo/video_demo.py``: detect on image files
or video frames, draw, save; headless unless a window is asked for."""
import os
import os.path as osp
from typing import Any, List, Optional, Sequence, Union

import cv2
import numpy as np
from mmengine.utils import ProgressBar
from torch import nn

from ..core.visualization import has_display
from .inference import inference_detector, result_to_dict

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')


def list_images(path: str) -> List[str]:
    """``[path]`` for an image file, or the images in folder ``path`` (sorted, not recursive)."""
    if osp.isfile(path):
        return [path]
    if osp.isdir(path):
        files = sorted(osp.join(path, name) for name in os.listdir(path)
                       if name.lower().endswith(IMAGE_EXTENSIONS))
        if not files:
            raise FileNotFoundError(f'folder {path!r} has no image ({", ".join(IMAGE_EXTENSIONS)})')
        return files
    raise FileNotFoundError(f'{path!r} is neither an image file nor a folder')


def summarize_result(result: Any, class_names: Optional[Sequence[str]],
                     score_thr: float) -> str:
    """``'2 x square, 1 x circle'``: detections scoring above ``score_thr`` per class."""
    det = result_to_dict(result)
    labels = det['labels'][det['scores'] > score_thr]
    if len(labels) == 0:
        return 'no detection'
    parts = []
    for label, count in zip(*np.unique(labels, return_counts=True)):
        name = class_names[label] if class_names is not None else f'class {label}'
        parts.append(f'{count} x {name}')
    return ', '.join(parts)


def detect_images(model: nn.Module, files: Sequence[str], out_dir: Optional[str] = None,
                  score_thr: float = 0.3, batch_size: int = 1) -> List[Any]:
    """Detect on ``files``; draw each result into ``out_dir/<file name>`` when given.

    A progress bar runs when there is more than one file. Returns the results, in order.
    """
    if out_dir is not None:
        os.makedirs(out_dir, exist_ok=True)
    progress = ProgressBar(len(files)) if len(files) > 1 else None
    results: List[Any] = []
    for start in range(0, len(files), batch_size):
        batch = list(files[start:start + batch_size])
        batch_results = inference_detector(model, batch)
        for file, result in zip(batch, batch_results):
            if out_dir is not None:
                model.show_result(file, result, score_thr=score_thr,
                                  out_file=osp.join(out_dir, osp.basename(file)))
            if progress is not None:
                progress.update()
        results.extend(batch_results)
    return results


def open_video_source(source: Union[str, int]) -> cv2.VideoCapture:
    """A ``cv2.VideoCapture`` on a video file or a camera index; raises if it cannot open."""
    if isinstance(source, str) and not osp.isfile(source):
        raise FileNotFoundError(f'video file {source!r} does not exist')
    capture = cv2.VideoCapture(source)
    if not capture.isOpened():
        what = f'camera {source}' if isinstance(source, int) else f'video {source!r}'
        raise RuntimeError(f'OpenCV could not open {what}')
    return capture


def detect_video(model: nn.Module, source: Union[str, int], out_file: Optional[str] = None,
                 score_thr: float = 0.3, show: bool = False, wait_time: int = 1,
                 max_frames: Optional[int] = None) -> int:
    """Detect on every frame of a video file or camera, write the drawn frames to
    ``out_file`` (mp4v codec, the source's size and fps) and/or show them.

    With ``show``, pressing ``q`` or Esc stops. Returns the number of frames processed.
    """
    if show and not has_display():
        raise RuntimeError('--show needs a display (DISPLAY is not set); use --out instead')
    capture = open_video_source(source)
    fps = capture.get(cv2.CAP_PROP_FPS) or 25.0
    total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) if isinstance(source, str) else 0
    if max_frames is not None:
        total = min(total, max_frames) if total > 0 else max_frames
    writer = None
    progress = ProgressBar(max(total, 0))
    count = 0
    try:
        while max_frames is None or count < max_frames:
            ok, frame = capture.read()
            if not ok:
                break
            result = inference_detector(model, frame)
            drawn = model.show_result(frame, result, score_thr=score_thr)
            if out_file is not None:
                if writer is None:
                    folder = osp.dirname(osp.abspath(out_file))
                    os.makedirs(folder, exist_ok=True)
                    height, width = drawn.shape[:2]
                    writer = cv2.VideoWriter(out_file, cv2.VideoWriter_fourcc(*'mp4v'), fps,
                                             (width, height))
                    if not writer.isOpened():
                        raise RuntimeError(f'OpenCV could not open {out_file!r} for writing '
                                           '(mp4v codec); use a .mp4 file name')
                writer.write(drawn)
            count += 1
            progress.update()
            if show:
                try:
                    cv2.imshow('video', drawn)
                    key = cv2.waitKey(wait_time) & 0xFF
                except cv2.error as err:
                    raise RuntimeError('--show needs a display and an OpenCV build with GUI '
                                       'support; use --out instead') from err
                if key in (ord('q'), 27):
                    break
    finally:
        capture.release()
        if writer is not None:
            writer.release()
        if show:
            try:
                cv2.destroyAllWindows()
            except cv2.error:
                pass
    return count
