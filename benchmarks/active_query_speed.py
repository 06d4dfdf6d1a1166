"""How long badge takes to choose a batch from a pool, with the classifier's one-pass
``embed_and_predict_proba`` (``joint``) or through ``predict_proba`` and ``embed`` separately (``two``).

The classifier is SetFit on minilm (float32 prediction, as in active.toml) fitted on 8 sst2 texts per
class; the pool is 2,000 other sst2 training texts; the batch is 8 texts. Each run appends the query's
seconds and its picks to ``--log``. Whole-process A/B, one thread, side by side:

    OMP_NUM_THREADS=1 farm-bench -n 4 --warmup 0 --pin 0 --timeout 900 \\
        --vs "python benchmarks/active_query_speed.py two --log /tmp/two.txt" \\
        -- python benchmarks/active_query_speed.py joint --log /tmp/joint.txt
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import fewshot
from fewshot.active import suggest


class _TwoPasses:
    """The same fitted classifier seen without ``embed_and_predict_proba``: two passes over the pool."""

    def __init__(self, clf):
        self.classes_, self.predict_proba, self.embed = clf.classes_, clf.predict_proba, clf.embed


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("arm", choices=["joint", "two"])
    parser.add_argument("--log", type=Path, required=True, help="file the query's seconds and picks are appended to")
    parser.add_argument("--data-dir", type=Path,
                        default=Path(os.environ.get("FEWSHOT_DATA_DIR", Path(__file__).parents[2] / "shared" / "datasets")))
    args = parser.parse_args(argv)
    train = fewshot.load_dataset_folder(args.data_dir / "sst2").train
    X, y = fewshot.sample_k_shot(train.X, train.y, 8, seed=0)
    pool = list(train.X[5000:7000])
    clf = fewshot.SetFitClassifier(model="minilm", quantize=False, num_iterations=2, epochs=1, seed=0).fit(X, y)
    start = time.perf_counter()
    picks = [s.index for s in suggest(clf if args.arm == "joint" else _TwoPasses(clf), pool, 8, "badge", seed=0)]
    with args.log.open("a") as f:
        f.write(f"{time.perf_counter() - start:.2f} {picks}\n")


if __name__ == "__main__":
    main()
