"""mmdetection 2.28's side of ``benchmark.py --train``: run only in the oracle venv.

Started by :class:`mmdet_lite.analysis.train_benchmark.Mmdet2Worker` as
``$MMDET2_VENV/bin/python tools/analysis_tools/mmdet2_train_worker.py PAYLOAD``, never by hand
and never with the project's environment: it imports mmdetection 2.28 (with the oracle's
``mmcv_ops_shim``, ``$MMDET2_SHIM``; see ../shared/mmdet2_oracle/README.md).

PAYLOAD (``torch.save``) holds the model dict (JSON), the starting weights, the batch and the
optimizer settings. The worker prints one JSON line ``{"kind": "ready"}`` once built, then for
each seed read from stdin resets the weights, seeds torch, runs one timed iteration
(``forward_train`` + backward of the summed losses + SGD step) and prints
``{"kind": "step", "forward_s", "backward_s", "step_s", "cpu_s", "loss"}``.
It exits when stdin closes.
"""
import json
import os
import sys
import time
import warnings

warnings.filterwarnings('ignore')
sys.path.insert(0, os.environ.get('MMDET2_SHIM', '/work/shared/mmdet2_oracle/mmdet2_shim'))


def answer(**reply) -> None:
    print(json.dumps(reply), flush=True)


def main() -> None:
    import mmcv_ops_shim
    mmcv_ops_shim.install()
    import numpy as np
    import torch
    from mmcv import Config
    from mmdet.core import BitmapMasks
    from mmdet.models import build_detector

    payload = torch.load(sys.argv[1], weights_only=False)
    torch.set_num_threads(int(payload['threads']))
    cfg = Config(dict(model=json.loads(payload['model'])))
    model = build_detector(cfg.model)
    start = payload['state_dict']
    model.load_state_dict(start, strict=True)
    model.train()
    img = payload['img']
    height, width = img.shape[-2:]
    gt_bboxes, gt_labels = payload['gt_bboxes'], payload['gt_labels']
    masks = [BitmapMasks(m.numpy(), height, width) for m in payload['gt_masks']]
    with_mask = bool(getattr(model, 'with_mask', False))
    params = [p for p in model.parameters() if p.requires_grad]
    answer(kind='ready')

    for line in sys.stdin:
        seed = int(line)
        model.load_state_dict(start)
        for p in params:
            p.grad = None
        optimizer = torch.optim.SGD(params, lr=payload['lr'], momentum=payload['momentum'],
                                    weight_decay=payload['weight_decay'])
        metas = [dict(filename='benchmark.jpg', ori_filename='benchmark.jpg',
                      ori_shape=(height, width, 3), img_shape=(height, width, 3),
                      pad_shape=(height, width, 3), scale_factor=np.ones(4, dtype=np.float32),
                      flip=False, flip_direction=None) for _ in range(img.size(0))]
        kwargs = dict(gt_masks=masks) if with_mask else {}
        torch.manual_seed(seed)
        c0 = time.process_time()
        t0 = time.perf_counter()
        losses = model.forward_train(img, metas, list(gt_bboxes), list(gt_labels), **kwargs)
        loss = sum(sum(v) if isinstance(v, (list, tuple)) else v
                   for k, v in losses.items() if 'loss' in k)
        t1 = time.perf_counter()
        loss.backward()
        t2 = time.perf_counter()
        optimizer.step()
        t3 = time.perf_counter()
        answer(kind='step', forward_s=t1 - t0, backward_s=t2 - t1, step_s=t3 - t2,
               cpu_s=time.process_time() - c0, loss=float(loss.detach()))


if __name__ == '__main__':
    main()
