"""Drive the web demo in a headless Chromium (Playwright): upload an image, wait for the drawn
result, read the summary and the JSON download, optionally move the threshold and save a
screenshot. The browser test and the docs' screenshot use it.

    python demo/web_demo_browser.py CONFIG CHECKPOINT IMAGE --screenshot docs/images/web_demo.png

Needs ``pip install playwright`` (the Python package only: no browser download) and a
Chromium on the machine (``apt-get install chromium``; ``--chromium`` names another binary).
"""
import argparse
import importlib.util
import json
import os.path as osp
import re
import urllib.parse
from types import ModuleType
from typing import List, NamedTuple, Optional

import cv2
import numpy as np

from mmdet_lite.apis import init_detector

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # drive() says how to get it
    sync_playwright = None

DEFAULT_CHROMIUM = '/usr/bin/chromium'


class BrowserRun(NamedTuple):
    """What the page showed after one upload (and threshold move)."""
    summary: str                 # the summary box's text
    count: int                   # detections in the summary
    drawn_rgb: np.ndarray        # (H, W, 3) uint8, the drawn image the page displays
    record: dict                 # the JSON the download link gives
    off_host_requests: List[str]  # URLs the page asked for outside the app's host


def _count(summary: str) -> int:
    match = re.match(r'(\d+) detections?', summary)
    if match is None:
        raise RuntimeError(f'the summary box shows {summary!r}, not a detection count')
    return int(match.group(1))


def drive(url: str, image: str, score_thr: Optional[float] = None,
          screenshot: Optional[str] = None, chromium: str = DEFAULT_CHROMIUM,
          timeout_s: float = 60) -> BrowserRun:
    """Open ``url`` in headless Chromium, upload ``image``, wait for the result; with
    ``score_thr``, set the slider there and wait for the redraw. ``screenshot`` saves the page
    (PNG) at the end."""
    if sync_playwright is None:
        raise ImportError('demo/web_demo_browser.py needs Playwright: pip install playwright '
                          '(the Python package only; Chromium comes from the system)')
    if not osp.isfile(chromium):
        raise FileNotFoundError(f'no Chromium at {chromium!r}: apt-get install chromium, or '
                                'pass --chromium PATH')
    host = urllib.parse.urlsplit(url).netloc
    requested: List[str] = []
    timeout_ms = timeout_s * 1000
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, headless=True,
                                     args=['--no-sandbox', '--disable-dev-shm-usage'])
        try:
            page = browser.new_page(viewport={'width': 1100, 'height': 760})
            page.on('request', lambda request: requested.append(request.url))
            # not 'networkidle': the page keeps a heartbeat request open
            page.goto(url, wait_until='load', timeout=timeout_ms)
            page.wait_for_selector('#input-image input[type=file]', state='attached',
                                   timeout=timeout_ms)
            summary_box = page.locator('#summary textarea')
            page.locator('#input-image input[type=file]').set_input_files(image)
            page.wait_for_function(
                "() => /detection/.test(document.querySelector('#summary textarea').value)",
                timeout=timeout_ms)
            if score_thr is not None:
                number = page.locator('#score-thr input[type=number]')
                number.fill(f'{score_thr:.2f}')
                number.press('Enter')
                page.locator('#score-thr input[type=range]').dispatch_event('pointerup')
                page.wait_for_function(
                    "t => document.querySelector('#summary textarea').value.includes(t)",
                    arg=f'(score > {score_thr:.2f})', timeout=timeout_ms)
            page.wait_for_selector('#drawn-image img', timeout=timeout_ms)
            page.wait_for_selector('#json-file a', timeout=timeout_ms)
            summary = summary_box.input_value()
            src = page.locator('#drawn-image img').first.get_attribute('src')
            png = page.request.get(urllib.parse.urljoin(url, src)).body()
            drawn = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)[..., ::-1]
            href = page.locator('#json-file a').first.get_attribute('href')
            record = json.loads(page.request.get(urllib.parse.urljoin(url, href)).body())
            if screenshot is not None:
                page.screenshot(path=screenshot, full_page=True)
        finally:
            browser.close()
    off_host = [u for u in requested if not u.startswith(('data:', 'blob:'))
                and urllib.parse.urlsplit(u).netloc != host]
    return BrowserRun(summary, _count(summary), np.ascontiguousarray(drawn), record, off_host)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='run the web demo in a headless Chromium')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('image', help='image to upload')
    parser.add_argument('--score-thr', type=float, default=None,
                        help='move the slider there after the first result')
    parser.add_argument('--screenshot', default=None, help='save the page there (PNG)')
    parser.add_argument('--chromium', default=DEFAULT_CHROMIUM, help='Chromium binary')
    return parser.parse_args(argv)


def _web_demo() -> ModuleType:
    """demo/web_demo.py as a module (demo/ is not a package)."""
    path = osp.join(osp.dirname(osp.abspath(__file__)), 'web_demo.py')
    spec = importlib.util.spec_from_file_location('web_demo', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    web_demo = _web_demo()
    model = init_detector(args.config, args.checkpoint, device='cpu')
    app = web_demo.build_app(model, title=f'mmdet_lite: {osp.basename(args.config)}')
    url = web_demo.launch(app, block=False)
    try:
        run = drive(url, args.image, score_thr=args.score_thr, screenshot=args.screenshot,
                    chromium=args.chromium)
    finally:
        app.close()
    print(run.summary)
    print(f'requests outside {url}: {run.off_host_requests or "none"}')
    if args.screenshot:
        print(f'screenshot saved to {args.screenshot}')


if __name__ == '__main__':
    main()
