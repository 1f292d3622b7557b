"""Plot training curves and summarise training speed from json logs.

    python tools/analysis_tools/analyze_logs.py plot_curve LOG.json [LOG2.json] \
        --keys loss_cls loss_bbox bbox_mAP --out curve.png [--legend A B ...] [--title T]
    python tools/analysis_tools/analyze_logs.py cal_train_time LOG.json [--include-outliers]

A log is mmengine's ``<work_dir>/<timestamp>/vis_data/scalars.json`` (or the work_dir itself:
the newest run is used) or an mmdetection 2.x ``*.log.json``.
"""
import argparse
from typing import List, Optional

from mmdet_lite.analysis.log_analysis import (cal_train_time, load_json_logs, merge_logs,
                                              plot_curve)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Analyze json logs')
    sub = parser.add_subparsers(dest='task', required=True)
    plot = sub.add_parser('plot_curve', help='plot logged quantities')
    plot.add_argument('json_logs', nargs='+', help='json log files (or work dirs)')
    plot.add_argument('--keys', nargs='+', default=['bbox_mAP'], help='quantities to plot')
    plot.add_argument('--title', default=None, help='figure title')
    plot.add_argument('--legend', nargs='+', default=None,
                      help='one label per (log, key) pair, logs outer')
    plot.add_argument('--out', default=None, help='image file to save (.png, .jpg, .pdf)')
    plot.add_argument('--show', action='store_true', help='open a window (needs a display)')
    plot.add_argument('--merge', action='store_true',
                      help='the logs are consecutive parts of one resumed run: plot them as one')
    timing = sub.add_parser('cal_train_time', help='iteration time statistics')
    timing.add_argument('json_logs', nargs='+', help='json log files (or work dirs)')
    timing.add_argument('--include-outliers', action='store_true',
                        help='keep the first logged interval of each epoch')
    args = parser.parse_args(argv)
    if args.task == 'plot_curve' and args.out is None and not args.show:
        parser.error('give --out FILE.png (or --show on a machine with a display)')
    return args


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    logs = load_json_logs(args.json_logs)
    if args.task == 'plot_curve':
        if args.merge:
            logs = [merge_logs(logs)]
        plot_curve(logs, args.keys, legend=args.legend, title=args.title,
               out_file=args.out)
        for log in logs:
            print(f'plotted {", ".join(args.keys)} of {log.path}')
        if args.out:
            print(f'saved to {args.out}')
        if args.show:
            import matplotlib.pyplot as plt
            plot_curve(logs, args.keys, legend=args.legend, title=args.title,
                       fig=plt.figure())
            plt.show()
        return
    for log in logs:
        stats = cal_train_time(log, include_outliers=args.include_outliers)
        print(f'-----Analyze train time of {log.path}-----')
        print(f'slowest epoch {stats["slowest_epoch"]}, average time is '
              f'{stats["slowest_epoch_time"]:.4f} s/iter')
        print(f'fastest epoch {stats["fastest_epoch"]}, average time is '
              f'{stats["fastest_epoch_time"]:.4f} s/iter')
        print(f'time std over epochs is {stats["epoch_time_std"]:.4f}')
        print(f'average iter time: {stats["average_iter_time"]:.4f} s/iter')


if __name__ == '__main__':
    main()
