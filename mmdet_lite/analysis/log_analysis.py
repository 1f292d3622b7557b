"""Read training logs (mmengine scalar json, mmdetection 2.x ``*.log.json``), plot curves and
summarise iteration times.

mmengine writes one json object per line to ``<work_dir>/<timestamp>/vis_data/scalars.json``
(and ``<timestamp>.json`` beside it): training lines carry ``epoch``, ``iter`` (global) and
``step``; validation lines carry the metrics and ``step`` (the epoch). mmdetection 2.x logs
carry ``mode`` ('train' / 'val'), ``epoch`` and ``iter`` (within the epoch).
"""
import glob
import json
import os.path as osp
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

BOOKKEEPING_KEYS = ('mode', 'epoch', 'iter', 'step')


@dataclass
class TrainingLog:
    """The records of one log file.

    ``train`` records have ``epoch`` (None for iteration-based runs) and ``iter`` (global,
    counted from 1); ``val`` records have ``epoch`` (or ``iter`` for iteration-based runs).
    All other entries are the logged numbers (``loss_cls``, ``lr``, ``time``, ``bbox_mAP``...).
    """
    path: str
    train: List[Dict[str, float]] = field(default_factory=list)
    val: List[Dict[str, float]] = field(default_factory=list)

    @property
    def name(self) -> str:
        """Short name for legends: the run's timestamp folder for mmengine's
        ``<timestamp>/vis_data/scalars.json``, else the file name."""
        parts = []
        for path in self.path.split(' + '):
            folder = osp.dirname(path)
            if osp.basename(folder) == 'vis_data':
                parts.append(osp.basename(osp.dirname(folder)))
            else:
                parts.append(osp.basename(path))
        return '+'.join(parts)

    def keys(self, mode: str) -> List[str]:
        """Logged quantities of ``mode`` ('train' or 'val'), bookkeeping keys excluded."""
        records = self.train if mode == 'train' else self.val
        return sorted({k for r in records for k in r if k not in BOOKKEEPING_KEYS})


def resolve_log_path(path: str) -> str:
    """A json log file: ``path`` itself, or the newest ``*/vis_data/scalars.json`` in a
    work_dir (or ``vis_data/scalars.json`` in a timestamp folder)."""
    if osp.isfile(path):
        return path
    if osp.isdir(path):
        candidates = (glob.glob(osp.join(path, 'vis_data', 'scalars.json'))
                      + glob.glob(osp.join(path, '*', 'vis_data', 'scalars.json')))
        if candidates:
            return max(candidates, key=osp.getmtime)
        raise FileNotFoundError(f'no <timestamp>/vis_data/scalars.json under {path!r}; pass '
                                'the json log file itself')
    raise FileNotFoundError(f'log file {path!r} does not exist')


def _numbers(record: dict) -> Dict[str, float]:
    return {k: float(v) for k, v in record.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool)}


def load_json_log(path: str) -> TrainingLog:
    """Parse one json log (mmengine scalars or mmdetection 2.x ``*.log.json``)."""
    path = resolve_log_path(path)
    log = TrainingLog(path=path)
    legacy_train: List[Dict[str, float]] = []
    with open(path, encoding='utf-8') as f:
        for line_no, line in enumerate(f, start=1):
            line = line.strip()
            if not line:
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                raise ValueError(f'{path}:{line_no} is not a json object ({err}); is this a '
                                 'json log (scalars.json or *.log.json)?') from None
            if not isinstance(record, dict):
                continue
            mode = record.get('mode')
            values = _numbers(record)
            if mode is not None:  # mmdetection 2.x
                if mode == 'train':
                    legacy_train.append(values)
                elif mode == 'val':
                    values.pop('iter', None)
                    log.val.append(values)
            elif 'iter' in record:  # mmengine, training
                if 'epoch' not in values:
                    values['epoch'] = None  # type: ignore[assignment]
                log.train.append(values)
            elif 'step' in record:  # mmengine, validation (step = epoch, or iter)
                log.val.append(values)
    by_iter = bool(log.train) and all(r.get('epoch') is None for r in log.train)
    for r in log.val:  # mmengine logs metrics at step=epoch, or step=iter for iter-based runs
        if 'step' in r:
            r.setdefault('iter' if by_iter else 'epoch', r.pop('step'))
    if legacy_train:  # 2.x counts iterations within each epoch: make them global
        iters_per_epoch: Dict[int, float] = {}
        for r in legacy_train:
            iters_per_epoch[int(r['epoch'])] = max(iters_per_epoch.get(int(r['epoch']), 0),
                                                   r['iter'])
        offsets, total = {}, 0.0
        for epoch in sorted(iters_per_epoch):
            offsets[epoch] = total
            total += iters_per_epoch[epoch]
        for r in legacy_train:
            r['iter'] = r['iter'] + offsets[int(r['epoch'])]
        log.train.extend(legacy_train)
    return log


def load_json_logs(paths: Sequence[str]) -> List[TrainingLog]:
    return [load_json_log(p) for p in paths]


def merge_logs(logs: Sequence[TrainingLog]) -> TrainingLog:
    """One log from the parts of a resumed run (mmengine starts a new timestamped log when
    training resumes; the iteration and epoch numbers continue). Records are ordered by
    iteration (training) and epoch (validation); a repeated one keeps the latest part's."""
    if not logs:
        raise ValueError('no log to merge')
    train: Dict[float, Dict[str, float]] = {}
    val: Dict[float, Dict[str, float]] = {}
    for log in logs:
        train.update((r['iter'], r) for r in log.train)
        val.update((r.get('epoch', r.get('iter')), r) for r in log.val)
    return TrainingLog(path=' + '.join(log.path for log in logs),
                       train=[train[k] for k in sorted(train)],
                       val=[val[k] for k in sorted(val)])


def _match_key(log: TrainingLog, key: str, mode: str) -> Optional[str]:
    """``key`` itself, or the one logged key ending in ``/key`` (prefixed metrics)."""
    keys = log.keys(mode)
    if key in keys:
        return key
    suffixed = [k for k in keys if k.endswith('/' + key)]
    if len(suffixed) > 1:
        raise KeyError(f'{key!r} matches {suffixed} in {log.path}; give the full name')
    return suffixed[0] if suffixed else None


def curve(log: TrainingLog, key: str) -> Dict[str, np.ndarray]:
    """The values of ``key`` in ``log`` against their x axis.

    Returns:
        ``dict(x=(m,), y=(m,), xlabel='iter' | 'epoch', key=<logged name>)``. Training
        quantities are plotted per iteration, validation ones (metrics) per epoch.
    """
    for mode in ('train', 'val'):
        name = _match_key(log, key, mode)
        if name is None:
            continue
        records = [r for r in (log.train if mode == 'train' else log.val) if name in r]
        if mode == 'train':
            xlabel = 'iter'
        else:
            xlabel = 'epoch' if records[0].get('epoch') is not None else 'iter'
        x = np.array([r[xlabel] for r in records], dtype=np.float64)
        y = np.array([r[name] for r in records], dtype=np.float64)
        return dict(x=x, y=y, xlabel=xlabel, key=name)
    raise KeyError(f'{log.path} does not log {key!r}. Training keys: {log.keys("train")}; '
                   f'validation keys: {log.keys("val")}')


def plot_curve(logs: Sequence[TrainingLog], keys: Sequence[str],
               legend: Optional[Sequence[str]] = None, title: Optional[str] = None,
               out_file: Optional[str] = None, dpi: int = 100, fig: Any = None):
    """Plot ``keys`` of every log; one panel per x axis (iterations, epochs).

    Args:
        logs: Parsed logs (:func:`load_json_log`).
        keys: Quantities to plot, e.g. ``['loss_cls', 'loss_bbox', 'bbox_mAP']``.
        legend: One label per (log, key) pair, logs outer; default ``<log name>_<key>``.
        title: Figure title.
        out_file: Save the figure there (.png, .jpg, .pdf, ...).
        fig: Draw into this matplotlib Figure (e.g. ``plt.figure()`` to show it); default a
            new Figure on the Agg canvas, so no display is needed.

    Returns:
        The matplotlib ``Figure``.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    if not keys:
        raise ValueError('give at least one key to plot, e.g. --keys loss_cls bbox_mAP')
    if legend is not None and len(legend) != len(logs) * len(keys):
        raise ValueError(f'{len(legend)} legend entries for {len(logs)} log(s) x {len(keys)} '
                         f'key(s); give {len(logs) * len(keys)}')
    curves = []
    for i, log in enumerate(logs):
        for j, key in enumerate(keys):
            c = curve(log, key)
            c['label'] = (legend[i * len(keys) + j] if legend is not None else
                          f'{log.name}_{key}')
            curves.append(c)
    xlabels = [x for x in ('iter', 'epoch') if any(c['xlabel'] == x for c in curves)]
    if fig is None:
        fig = Figure(dpi=dpi)
        FigureCanvasAgg(fig)
    fig.set_size_inches(8, 3.5 * len(xlabels))
    for panel, xlabel in enumerate(xlabels):
        ax = fig.add_subplot(len(xlabels), 1, panel + 1)
        for c in curves:
            if c['xlabel'] == xlabel:
                ax.plot(c['x'], c['y'], label=c['label'],
                        marker='o' if xlabel == 'epoch' else None, linewidth=1)
        ax.set_xlabel(xlabel)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(True, alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    if out_file is not None:
        fig.savefig(out_file)
    return fig


def cal_train_time(log: TrainingLog, include_outliers: bool = False) -> Dict[str, float]:
    """Iteration-time statistics of a training log (mmdetection 2.x ``cal_train_time``).

    The first logged interval of each epoch (data loader start-up) is left out unless
    ``include_outliers``. Returns ``slowest_epoch``, ``slowest_epoch_time``,
    ``fastest_epoch``, ``fastest_epoch_time``, ``epoch_time_std`` (std over the epochs of
    their mean s/iter) and ``average_iter_time`` (s/iter over everything kept).
    """
    per_epoch: Dict[int, List[float]] = {}
    for r in log.train:
        if 'time' in r:
            epoch = r.get('epoch')
            per_epoch.setdefault(1 if epoch is None else int(epoch), []).append(r['time'])
    kept = {e: (t if include_outliers else t[1:]) for e, t in per_epoch.items()}
    kept = {e: t for e, t in kept.items() if t}
    if not kept:
        raise ValueError(f'{log.path} has too few timed training records; make the logging '
                         'interval smaller than the iterations of one epoch '
                         '(log_config.interval), or pass include_outliers')
    epochs = sorted(kept)
    means = np.array([np.mean(kept[e]) for e in epochs])
    slowest, fastest = int(means.argmax()), int(means.argmin())
    return dict(slowest_epoch=epochs[slowest], slowest_epoch_time=float(means[slowest]),
                fastest_epoch=epochs[fastest], fastest_epoch_time=float(means[fastest]),
                epoch_time_std=float(means.std()),
                average_iter_time=float(np.mean(np.concatenate([kept[e] for e in epochs]))))
