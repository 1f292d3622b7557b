"""demo/image_demo.py and demo/video_demo.py end to end on the tiny trained model."""
import os
import os.path as osp

import cv2
import mmcv
import numpy as np
import pytest

from tests.test_tools.tool_loader import load_tool


def test_image_demo_on_a_folder(tiny_shapes_checkpoint, tmp_path, capsys, one_thread):
    config, checkpoint, _, data_root = tiny_shapes_checkpoint
    folder = tmp_path / 'images'
    folder.mkdir()
    names = ['a.png', 'b.jpg']
    for name, index in zip(names, (0, 1)):
        img = mmcv.imread(osp.join(data_root, 'val', f'{index:06d}.png'))
        mmcv.imwrite(img, str(folder / name))
    (folder / 'notes.txt').write_text('not an image')
    out_dir = tmp_path / 'out'
    demo = load_tool('demo/image_demo.py')
    demo.main([str(folder), config, checkpoint, '--out-dir', str(out_dir), '--score-thr', '0',
               '--device', 'cpu', '--batch-size', '2'])
    assert sorted(os.listdir(out_dir)) == names
    for name in names:
        src, drawn = mmcv.imread(str(folder / name)), mmcv.imread(str(out_dir / name))
        assert drawn.shape == src.shape
        assert (np.abs(drawn.astype(int) - src.astype(int)) > 30).any()
    printed = capsys.readouterr().out
    assert f'{folder / "a.png"}:' in printed and ' x ' in printed

    # one image, nothing saved: only the printed summary
    demo.main([str(folder / 'a.png'), config, checkpoint, '--device', 'cpu'])
    empty = tmp_path / 'empty'
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match='no image'):
        demo.main([str(empty), config, checkpoint])


def _write_video(path, frames, fps=5):
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*'mp4v'), fps, (w, h))
    assert writer.isOpened()
    for frame in frames:
        writer.write(frame)
    writer.release()


def _read_video(path):
    capture = cv2.VideoCapture(str(path))
    assert capture.isOpened()
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    return frames


def test_video_demo_keeps_frame_count_and_size(tiny_shapes_checkpoint, tmp_path, one_thread,
                                               monkeypatch):
    config, checkpoint, _, data_root = tiny_shapes_checkpoint
    frames = [mmcv.imread(osp.join(data_root, 'train', f'{i:06d}.png')) for i in range(4)]
    frames = [mmcv.imresize(f, (96, 64)) for f in frames]
    video = tmp_path / 'in.mp4'
    _write_video(video, frames)
    out = tmp_path / 'out' / 'drawn.mp4'
    demo = load_tool('demo/video_demo.py')
    demo.main([str(video), config, checkpoint, '--out', str(out), '--score-thr', '0',
               '--device', 'cpu'])
    written = _read_video(out)
    assert len(written) == len(_read_video(video)) == 4
    assert all(f.shape == (64, 96, 3) for f in written)
    assert any(np.abs(w.astype(int) - f.astype(int)).mean() > 5
               for w, f in zip(written, frames))
    capture = cv2.VideoCapture(str(out))
    assert capture.get(cv2.CAP_PROP_FPS) == pytest.approx(5)
    capture.release()

    demo.main([str(video), config, checkpoint, '--out', str(out), '--max-frames', '2',
               '--device', 'cpu'])
    assert len(_read_video(out)) == 2
    with pytest.raises(SystemExit):
        demo.main([str(video), config, checkpoint])  # neither --out nor --show
    monkeypatch.delenv('DISPLAY', raising=False)
    monkeypatch.delenv('WAYLAND_DISPLAY', raising=False)
    with pytest.raises(RuntimeError, match='needs a display'):
        demo.main([str(video), config, checkpoint, '--show'])
    with pytest.raises(FileNotFoundError, match='missing.mp4'):
        demo.main([str(tmp_path / 'missing.mp4'), config, checkpoint, '--out', str(out)])
