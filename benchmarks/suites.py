"""What each suite of ``python -m benchmarks run`` runs, at full and at ``--quick`` sizes.

A step is one benchmark script run as ``python -m benchmarks.<module> ARGS``
in its own process; it writes ``results/<result>.json``. Full sizes produce
the published numbers (``benchmarks/README.md``); ``--quick`` sizes check
that every step works in a few minutes and write to ``benchmarks/.cache/quick``.
"""

from dataclasses import dataclass
from pathlib import Path

from . import peers


@dataclass(frozen=True)
class Step:
    module: str
    full: list
    quick: list
    result: str = None
    heavy: bool = False
    """Takes minutes of both cores at full size (the runner can wait for an idle machine first)."""

    @property
    def name(self):
        return self.result or self.module

    def args(self, quick):
        return list(self.quick if quick else self.full) + self.found_args()

    def found_args(self):
        """Arguments found at run time: the TF-Keras interpreter for the Keras benchmark."""
        if self.module == "keras_seed":
            python = peers.tf_python()
            if python and Path(python).is_relative_to(peers.ROOT):
                python = str(Path(python).relative_to(peers.ROOT))
            return ["--tf-python", python] if python else []
        return []


SUITES = {
    "accuracy": [
        Step("explicit_accuracy", ["--datasets", "ml-100k,latest-small", "--peers"],
             ["--datasets", "ml-100k,latest-small", "--folds", "1", "--configs", "default-als,default-sgd",
              "--peers", "lenskit"], heavy=True),
        Step("itemknn_accuracy", [], ["--folds", "1"]),
    ],
    "speed": [
        Step("explicit_speed", [], ["--sizes", "1e5", "--repeats", "3", "--epochs", "2"], heavy=True),
        Step("jit_cost", ["--repeats", "3", "--peers"], ["--solver", "als", "--repeats", "1", "--peers",
                                                         "surprise SVD,implicit ALS"], heavy=True),
        Step("foldin_latency", [], ["--calls", "100"]),
        Step("similarity_build", ["--repeats", "3"], ["--repeats", "1", "--skip-large", "--metrics", "cosine"],
             heavy=True),
    ],
    "scale": [
        Step("ratings_memory", ["--n", "10000000"], ["--n", "1000000"], result="ratings_memory"),
        Step("ratings_memory", ["--n", "100000000"], ["--n", "100000"], result="ratings_memory", heavy=True),
        Step("scale", [], ["--sizes", "1e5,1e6", "--repeats", "1", "--models", "mf-als,mf-als-cg,mf-sgd,surprise-svd"],
             heavy=True),
        Step("scale", ["--sizes", "1e6,1e7", "--models", "mf-ials,implicit-als"],
             ["--sizes", "1e5", "--repeats", "1", "--models", "mf-ials,implicit-als"], heavy=True),
    ],
    "keras": [
        Step("keras_seed", [], ["--epochs", "3", "--batch-sizes", "256", "--repeats", "1"], heavy=True),
    ],
    "implicit": [
        Step("implicit_vs_peer", ["--data", "ml-100k,ml-latest-small"],
             ["--sections", "als,bpr", "--data", "ml-100k", "--repeats", "1", "--iterations", "2", "--epochs", "2"],
             heavy=True),
        Step("implicit_vs_peer", ["--sections", "bpr", "--data", "synthetic", "--epochs", "2"],
             ["--sections", "bpr", "--data", "synthetic", "--synthetic", "1e5", "--repeats", "1", "--epochs", "1"],
             heavy=True),
        Step("topk_vs_implicit", ["--repeats", "3"], ["--repeats", "1", "--threads", "2"]),
    ],
}
SUITES["all"] = [step for name in ("accuracy", "speed", "scale", "keras", "implicit") for step in SUITES[name]]
