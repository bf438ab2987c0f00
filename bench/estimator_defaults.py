"""scikit-learn's MLPClassifier(hidden_layer_sizes=(16,)), every other
setting at its default, on the blobs written by
`cargo run --release --example estimator_defaults -- DIR SEEDS`: training
accuracy per seed (random_state = seed), to set beside the Rust example's
table.

    python3 bench/estimator_defaults.py bench/results/blobs 5
"""

import sys
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier


def accuracy(path, seed):
    data = np.loadtxt(path, delimiter=",", skiprows=1)
    x, y = data[:, :2], data[:, 2].astype(int)
    clf = MLPClassifier(hidden_layer_sizes=(16,), random_state=seed)
    with warnings.catch_warnings():
        # 200 epochs of Adam at 1e-3 end before the tol rule fires.
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(x, y)
    return 100 * clf.score(x, y)


def main(directory, seeds):
    print("seed  centered  shifted")
    mean = [0.0, 0.0]
    for seed in range(seeds):
        acc = [accuracy(f"{directory}/{name}_{seed}.csv", seed) for name in ("centered", "shifted")]
        mean = [m + a / seeds for m, a in zip(mean, acc)]
        print(f"{seed:>4}  {acc[0]:>7.1f}%  {acc[1]:>6.1f}%")
    print(f"mean  {mean[0]:>7.1f}%  {mean[1]:>6.1f}%")


if __name__ == "__main__":
    main(
        sys.argv[1] if len(sys.argv) > 1 else "bench/results/blobs",
        int(sys.argv[2]) if len(sys.argv) > 2 else 5,
    )
