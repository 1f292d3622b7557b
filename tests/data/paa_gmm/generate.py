"""Write ``sklearn.npz``: scikit-learn's two-Gaussian fits of PAA-like loss vectors, the reference
of tests/test_models/test_dense_heads/test_paa_gmm.py (mmdetection 2.x's PAA calls
``sklearn.mixture.GaussianMixture`` exactly like this).

A development tool, not run by the tests (scikit-learn is not a dependency)::

    pip install --target /tmp/sk scikit-learn
    PYTHONPATH=/tmp/sk python tests/data/paa_gmm/generate.py
"""
import os

import numpy as np
import sklearn.mixture as skm

HERE = os.path.dirname(os.path.abspath(__file__))
PRECISIONS = dict(full=np.ones((2, 1, 1)), diag=np.ones((2, 1)), spherical=np.ones(2),
                  tied=np.ones((1, 1)))


def main() -> None:
    rng = np.random.default_rng(0)
    arrays = {}
    case = 0
    for covariance_type in ('diag', 'diag', 'diag', 'spherical', 'full', 'tied'):
        n = int(rng.integers(6, 30))
        x = np.sort(np.concatenate([rng.gamma(2, 0.3, n // 2 + 1),
                                    rng.gamma(2, 1.5, n - n // 2)]))[:n].astype(np.float32)
        gmm = skm.GaussianMixture(2, weights_init=np.array([0.5, 0.5]),
                                  means_init=np.array([x.min(), x.max()]).reshape(2, 1),
                                  precisions_init=PRECISIONS[covariance_type],
                                  covariance_type=covariance_type)
        gmm.fit(x.reshape(-1, 1))
        arrays[f'values_{case}'] = x
        arrays[f'type_{case}'] = np.array(covariance_type)
        arrays[f'assignment_{case}'] = gmm.predict(x.reshape(-1, 1))
        arrays[f'scores_{case}'] = gmm.score_samples(x.reshape(-1, 1))
        case += 1
    np.savez_compressed(os.path.join(HERE, 'sklearn.npz'), **arrays)


if __name__ == '__main__':
    main()
