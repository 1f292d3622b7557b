"""``mmdet_lite.deployment.speed`` (``tools/deployment/benchmark.py``'s table): medians,
min/max and both ratios against the reference engine, worked by hand."""
from mmdet_lite.deployment.speed import paired_ratios, speed_rows, speed_table


def test_speed_table_medians_and_per_image_ratios():
    # the load rose on the third image: the medians' ratio (1.5 / 2) says 0.75x, the
    # per-image ratios (0.5, 0.75, 0.2) say 0.5x
    times = {'torch': [1.0, 2.0, 10.0], 'ort': [0.5, 1.5, 2.0]}
    ratios = paired_ratios(times, 'torch')
    assert ratios == {'torch': 1.0, 'ort': 0.5}
    rows = speed_rows(times)
    assert rows[1].median == 1.5 and rows[1].min == 0.5 and rows[1].max == 2.0
    lines = speed_table(rows, 'torch', ratios).splitlines()
    assert lines[0] == ('| engine | median ms | min ms | max ms | images | vs torch | '
                        'per-image ratio (median) |')
    assert lines[2] == '| torch | 2000 | 1000 | 10000 | 3 | 1.00x | 1.00x |'
    assert lines[3] == '| ort | 1500 | 500 | 2000 | 3 | 0.75x | 0.50x |'
    assert speed_table(rows).splitlines()[3] == '| ort | 1500 | 500 | 2000 | 3 | - |'
