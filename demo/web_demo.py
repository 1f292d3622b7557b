"""A browser demo: drop an image, move the score threshold, see the detections and masks,
download them as JSON.

    python demo/web_demo.py CONFIG CHECKPOINT [--port 7860] [--host 127.0.0.1] [--device cpu]
                            [--score-thr 0.3]

Needs Gradio (``pip install -e ".[demo]"``). It runs on the CPU unless ``--device`` says
otherwise, fetches nothing from the network (Gradio's analytics and version check are off, its
fonts and scripts are served by the app itself) and listens on 127.0.0.1 only unless ``--host``
opens it (``--host 0.0.0.0`` serves every network interface: anyone who reaches the port can use
the model). The drawing and the JSON record are mmdet_lite's (``mmdet_lite/apis/result_export.py``).
"""
import argparse
import json
import logging
import os
import os.path as osp
import tempfile
from typing import Any, List, Optional, Tuple

# Read by Gradio when a Blocks is made: no usage report and no version request to gradio.app.
os.environ.setdefault('GRADIO_ANALYTICS_ENABLED', 'False')
os.environ.setdefault('HF_HUB_DISABLE_TELEMETRY', '1')

import numpy as np  # noqa: E402
from mmengine.logging import MMLogger  # noqa: E402
from torch import nn  # noqa: E402

from mmdet_lite.apis import init_detector  # noqa: E402
from mmdet_lite.apis.result_export import detect_rgb, present_result  # noqa: E402

try:
    import gradio as gr
except ImportError:  # the demo extra is not installed; main() says how to get it
    gr = None

Outputs = Tuple[Optional[np.ndarray], Optional[str], str]


def _require_gradio() -> None:
    if gr is None:
        raise ImportError('demo/web_demo.py needs Gradio: pip install -e ".[demo]" '
                          '(or pip install gradio)')


def _write_record(record: dict, out_dir: str) -> str:
    """The record as ``detections.json`` in a new folder under ``out_dir`` (one per request,
    so that two sessions never overwrite each other's download)."""
    folder = tempfile.mkdtemp(dir=out_dir)
    path = osp.join(folder, 'detections.json')
    with open(path, 'w') as f:
        json.dump(record, f, indent=1)
    return path


def make_handlers(model: nn.Module, out_dir: str):
    """``(detect, redraw)``: the app's two callbacks, usable without a browser.

    ``detect(image_rgb, score_thr) -> (drawn_rgb, json_path, summary, result)`` runs the model;
    ``redraw(image_rgb, score_thr, result) -> (drawn_rgb, json_path, summary)`` only redraws the
    kept result at a new threshold.
    """
    class_names = model.CLASSES

    def redraw(image: Optional[np.ndarray], score_thr: float, result: Any) -> Outputs:
        if image is None or result is None:
            return None, None, 'Drop an image to detect objects.'
        shown = present_result(image, result, class_names, float(score_thr))
        return shown.drawn_rgb, _write_record(shown.record, out_dir), shown.summary

    def detect(image: Optional[np.ndarray], score_thr: float) -> Tuple[Any, ...]:
        if image is None:
            return None, None, 'Drop an image to detect objects.', None
        result = detect_rgb(model, image)
        return (*redraw(image, score_thr, result), result)

    return detect, redraw


def build_app(model: nn.Module, score_thr: float = 0.3, title: str = 'mmdet_lite',
              out_dir: Optional[str] = None) -> 'gr.Blocks':
    """The Gradio app for ``model`` (not launched). JSON downloads are written under
    ``out_dir`` (a new temporary folder by default)."""
    _require_gradio()
    out_dir = out_dir or tempfile.mkdtemp(prefix='mmdet_lite_web_demo_')
    detect, redraw = make_handlers(model, out_dir)
    classes = ', '.join(model.CLASSES) if model.CLASSES is not None else 'unknown'
    with gr.Blocks(title=title, analytics_enabled=False) as app:
        gr.Markdown(f'## {title}\nClasses: {classes}. Drop an image, move the threshold, '
                    'download the detections as JSON (boxes, scores, labels, class names, '
                    'RLE masks).')
        result_state = gr.State(None)
        with gr.Row():
            image = gr.Image(label='image', type='numpy', sources=['upload', 'clipboard'],
                             height=400, elem_id='input-image')
            # no 'share' button: it would upload the image to Hugging Face
            drawn = gr.Image(label='detections', type='numpy', format='png', height=400,
                             interactive=False, buttons=['download', 'fullscreen'],
                             elem_id='drawn-image')
        threshold = gr.Slider(0.0, 1.0, value=score_thr, step=0.01, label='score threshold',
                              elem_id='score-thr')
        summary = gr.Textbox(label='summary', interactive=False, elem_id='summary')
        record = gr.File(label='detections (JSON)', interactive=False, elem_id='json-file')
        image.change(detect, inputs=[image, threshold],
                     outputs=[drawn, record, summary, result_state], api_name='detect')
        threshold.release(redraw, inputs=[image, threshold, result_state],
                          outputs=[drawn, record, summary], api_name='redraw')
    return app


def launch(app: 'gr.Blocks', host: str = '127.0.0.1', port: Optional[int] = None,
           block: bool = True) -> str:
    """Serve ``app`` on ``host:port`` (Gradio's first free port from 7860 when None); no share
    link, no server-side rendering (which would need Node), nothing opened in a browser.
    Returns the local URL; ``block=False`` returns at once (close with ``app.close()``)."""
    _, local_url, _ = app.launch(server_name=host, server_port=port, share=False,
                                 inbrowser=False, ssr_mode=False, mcp_server=False,
                                 show_error=True, prevent_thread_lock=not block,
                                 quiet=not block)
    _reopen_closed_log_files()
    return local_url


def _reopen_closed_log_files() -> None:
    """Gradio's server (uvicorn) configures logging with ``logging.config.dictConfig``, which
    closes every handler of the process, mmengine's log files included; a later write through
    them (e.g. ``init_weights`` dumping its init info) then failed. Reopen them for appending."""
    for logger in MMLogger._instance_dict.values():
        for handler in logger.handlers:
            if isinstance(handler, logging.FileHandler) and handler.stream is None:
                handler.mode = 'a'
                handler.setStream(handler._open())


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='mmdet_lite web demo (Gradio)')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--port', type=int, default=None,
                        help='port (default: the first free one from 7860)')
    parser.add_argument('--host', default='127.0.0.1',
                        help='interface to listen on (default 127.0.0.1: this machine only)')
    parser.add_argument('--device', default='cpu', help="'cpu' (default) or e.g. 'cuda:0'")
    parser.add_argument('--score-thr', type=float, default=0.3,
                        help='initial score threshold of the slider')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    _require_gradio()
    model = init_detector(args.config, args.checkpoint, device=args.device)
    app = build_app(model, score_thr=args.score_thr,
                    title=f'mmdet_lite: {osp.basename(args.config)}')
    launch(app, host=args.host, port=args.port, block=True)


if __name__ == '__main__':
    main()
