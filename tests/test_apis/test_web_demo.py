"""demo/web_demo.py served on a free local port with the tiny trained model: through Gradio's
own client (always), and in a real headless Chromium (where one is installed)."""
import json
import logging
import os.path as osp
import socket

import mmcv
import numpy as np
import pytest
from mmengine.logging import MMLogger

from mmdet_lite.apis import inference_detector, init_detector, result_to_dict
from mmdet_lite.apis.result_export import json_to_arrays
from tests.test_tools.tool_loader import load_tool

CHROMIUM = '/usr/bin/chromium'


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


@pytest.fixture(scope='module')
def web_app(tiny_shapes_checkpoint, tmp_path_factory):
    """``(url, model, web_demo module, image path)`` of the demo served on 127.0.0.1."""
    config, checkpoint, _, data_root = tiny_shapes_checkpoint
    web_demo = load_tool('demo/web_demo.py')
    model = init_detector(config, checkpoint, device='cpu')
    app = web_demo.build_app(model, out_dir=str(tmp_path_factory.mktemp('web_demo')))
    url = web_demo.launch(app, host='127.0.0.1', port=_free_port(), block=False)
    try:
        yield url, model, web_demo, osp.join(data_root, 'val', '000001.png')
    finally:
        app.close()


def _thresholds(model, image):
    """The model's detections on ``image`` and two thresholds on the slider's 0.01 steps: the
    lower keeps some detections but not all, the higher fewer than the lower."""
    want = result_to_dict(inference_detector(model, image))
    scores = want['scores']
    counts = {t / 100: int((scores > t / 100).sum()) for t in range(100)}
    some = [t for t, count in counts.items() if 0 < count < len(scores)]
    assert some, f'the tiny model should make detections of different scores, got {scores}'
    low = some[0]
    high = next(t for t, count in counts.items() if count < counts[low])
    return want, high, low


def test_launch_keeps_mmengine_log_files_writable(web_app):
    """Gradio's uvicorn closes every logging handler (dictConfig); the training run of the
    checkpoint fixture left an mmengine log file, which must still take lines after launch."""
    handlers = [h for logger in MMLogger._instance_dict.values() for h in logger.handlers
                if isinstance(h, logging.FileHandler)]
    assert handlers, 'the checkpoint fixture should have opened an mmengine log file'
    for handler in handlers:
        handler.stream.write('')  # what mmengine's init_weights does; fails on a closed one


def test_detect_and_redraw_through_gradio_client(web_app, one_thread):
    from gradio_client import Client, handle_file

    url, model, _, image = web_app
    assert url.startswith('http://127.0.0.1:')
    want, high, low = _thresholds(model, image)
    client = Client(url, verbose=False)
    drawn_path, json_path, summary = client.predict(handle_file(image), low,
                                                    api_name='/detect')
    keep = want['scores'] > low
    assert summary.startswith(f'{keep.sum()} detections (score > {low:.2f})')
    with open(json_path) as f:
        record = json.load(f)
    back = json_to_arrays(record)
    np.testing.assert_allclose(back['bboxes'], want['bboxes'][keep], atol=1e-3)
    np.testing.assert_allclose(back['scores'], want['scores'][keep], atol=1e-5)
    np.testing.assert_array_equal(back['labels'], want['labels'][keep])
    assert back['masks'].shape == (keep.sum(),) + mmcv.imread(image).shape[:2]
    assert [d['class_name'] for d in record['detections']] == [
        model.CLASSES[label] for label in want['labels'][keep]]
    drawn = mmcv.imread(drawn_path)
    assert drawn.shape == mmcv.imread(image).shape
    # a moved threshold redraws the kept result (same session), with fewer detections
    _, json_high, summary_high = client.predict(handle_file(image), high, api_name='/redraw')
    count_high = (want['scores'] > high).sum()
    assert summary_high.startswith(f'{count_high} detection')
    with open(json_high) as f:
        assert len(json.load(f)['detections']) == count_high


def test_handlers_without_a_browser(web_app, tmp_path, one_thread):
    url, model, web_demo, image = web_app
    detect, redraw = web_demo.make_handlers(model, str(tmp_path))
    assert detect(None, 0.3) == (None, None, 'Drop an image to detect objects.', None)
    rgb = mmcv.imread(image)[..., ::-1]
    want, _, low = _thresholds(model, image)
    drawn, json_path, summary, result = detect(rgb, low)
    assert drawn.shape == rgb.shape and (drawn != rgb).any()
    assert summary.startswith(f'{(want["scores"] > low).sum()} detections')
    _, _, none_left = redraw(rgb, 1.0, result)
    assert none_left == '0 detections (score > 1.00)'
    with pytest.raises(SystemExit):
        web_demo.parse_args([])
    assert web_demo.parse_args(['c.py', 'w.pth']).host == '127.0.0.1'


def _browser_missing():
    if not osp.isfile(CHROMIUM):
        return (f'no Chromium at {CHROMIUM} (apt-get install chromium; CI cannot apt-install, '
                'the Gradio-client test above covers the app there)')
    try:
        import playwright  # noqa: F401
    except ImportError:
        return 'the Python package playwright is not installed (pip install playwright)'
    return None


@pytest.mark.skipif(_browser_missing() is not None, reason=str(_browser_missing()))
def test_upload_in_a_headless_chromium(web_app, tmp_path, one_thread):
    url, model, _, image = web_app
    browser = load_tool('demo/web_demo_browser.py')
    want, high, low = _thresholds(model, image)
    run = browser.drive(url, image, score_thr=low, screenshot=str(tmp_path / 'page.png'),
                        chromium=CHROMIUM)
    assert run.count == (want['scores'] > low).sum()
    assert len(run.record['detections']) == run.count
    original_rgb = mmcv.imread(image)[..., ::-1]
    assert run.drawn_rgb.shape == original_rgb.shape and (run.drawn_rgb != original_rgb).any()
    assert [d['class_name'] for d in run.record['detections']] == [
        model.CLASSES[label] for label in want['labels'][want['scores'] > low]]
    assert run.off_host_requests == [], 'the page fetched something from outside the app'
    assert osp.getsize(tmp_path / 'page.png') > 10_000
