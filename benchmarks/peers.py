"""Adapters for the libraries the benchmarks compare mf against.

Every explicit-feedback model, mf's own included, sits behind one small
interface so the scripts can alternate libraries on the same data::

    model = SurpriseModel("SVD", n_factors=100, random_state=0)
    model.available()           # None, or a note saying how to install it
    seconds = model.fit(train)  # a mf.Ratings; conversion to the peer's format is not timed
    model.epoch_seconds         # per-iteration times when the library exposes them, else None
    model.predict(users, items) # raw ids in; unknown ids get the training mean; clipped to the training range

- :class:`MF`: ``mf.MatrixFactorization`` (per-epoch times from ``history_``).
- :class:`SurpriseModel`: Surprise's ``SVD``, ``SVDpp``, ``BaselineOnly``,
  ``KNNBaseline`` (single-threaded library).
- :class:`LensKitBiasedMF`: LensKit 0.14's ``BiasedMF`` (ALS). LensKit 0.14
  needs numpy < 2, so it usually lives in its own environment: when it is not
  importable here, the adapter drives a long-lived server process under
  ``$MF_BENCH_LENSKIT_PYTHON`` (default ``.venv-lk/bin/python``) that keeps the
  JIT-compiled kernels and the converted data between fits.
- :class:`SparkALS`: Spark MLlib's ``ALS`` in local mode (``local[threads]``).
- :class:`ImplicitLib` and :class:`MFImplicit`: the ``implicit`` library's
  ALS and BPR, and mf's ``ImplicitALS`` and ``BPR``, on implicit feedback
  (``fit`` only); implicit is given confidences ``1 + alpha * r`` so that
  both ALS solve the same problem.

The TF-Keras seed model is run by ``keras_seed.py`` in an interpreter that
has TensorFlow (:func:`tf_python`). :data:`COLD_START` holds, per library, a
small "import and fit once" program for the start-up benchmark.
"""

import contextlib
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def cores():
    return os.cpu_count() or 1


def _interpreter(env_name, venv):
    path = os.environ.get(env_name)
    if path:
        return path
    candidate = ROOT / venv / "bin" / "python"
    return str(candidate) if candidate.exists() else None


def lenskit_python():
    """Interpreter to run LensKit in: this one when it imports lenskit, else ``$MF_BENCH_LENSKIT_PYTHON`` or .venv-lk."""
    if importlib.util.find_spec("lenskit") is not None:
        return sys.executable
    return _interpreter("MF_BENCH_LENSKIT_PYTHON", ".venv-lk")


def tf_python():
    """Interpreter with TF-Keras: this one when it has tensorflow, else ``$MF_BENCH_TF_PYTHON`` or .venv-bench."""
    if importlib.util.find_spec("tensorflow") is not None and importlib.util.find_spec("keras") is not None:
        return sys.executable
    return _interpreter("MF_BENCH_TF_PYTHON", ".venv-bench")


def single_thread_blas_env(threads):
    """Environment for a child process: ``threads`` numba threads, BLAS on one thread."""
    return dict(os.environ, NUMBA_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")


@contextlib.contextmanager
def blas_threads(n):
    """Limit BLAS threads to ``n`` (a no-op without threadpoolctl)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield
        return
    with threadpool_limits(n, "blas"):
        yield


DISTRIBUTIONS = {"surprise": ["scikit-surprise"], "implicit": ["implicit"], "pyspark": ["pyspark"],
                 "tensorflow": ["tensorflow-cpu", "tensorflow"], "keras": ["keras"], "lenskit": ["lenskit"]}
_VERSION_PROGRAM = """
import importlib.metadata as m, json, sys
out = {}
for name, dists in json.loads(sys.argv[1]).items():
    for dist in dists:
        try:
            out[name] = m.version(dist)
            break
        except m.PackageNotFoundError:
            out[name] = None
print(json.dumps(out))
"""


def versions():
    """Installed versions of the peer libraries (None when not installed), each from the interpreter that runs it."""
    out = {}
    for python in dict.fromkeys([sys.executable, lenskit_python(), tf_python()]):
        if python is None:
            continue
        proc = subprocess.run([python, "-c", _VERSION_PROGRAM, json.dumps(DISTRIBUTIONS)], capture_output=True,
                              text=True)
        if proc.returncode == 0:
            for name, version in json.loads(proc.stdout).items():
                out[name] = out.get(name) or version
    if lenskit_python() not in (None, sys.executable) and out.get("lenskit"):
        proc = subprocess.run([lenskit_python(), "-c", "import numpy, numba; print(numpy.__version__, numba.__version__)"],
                              capture_output=True, text=True)
        if proc.returncode == 0:
            out["numpy (LensKit's environment)"], out["numba (LensKit's environment)"] = proc.stdout.split()
    return out


class Model:
    """Base of the explicit-feedback adapters (see the module docstring)."""

    library = "mf"
    name = "model"

    def __init__(self, threads=None):
        self.threads = threads or cores()
        self.epoch_seconds = None
        self._train = None
        self._converted = None

    def available(self):
        return None

    def fit(self, train):
        if self._train is not train:
            self._converted = self._convert(train)
            self._train = train
        seconds, self.epoch_seconds = self._fit(self._converted)
        return seconds

    def predict(self, users, items):
        u = self._train.user_map.lookup(users)
        i = self._train.item_map.lookup(items)
        out = np.asarray(self._predict(u, i), dtype=np.float64)
        out[~np.isfinite(out)] = self._train.global_mean
        lo, hi = self._train.rating_range
        return np.clip(out, lo, hi)

    def close(self):
        """Release what the adapter holds (server processes, cached data)."""

    def _convert(self, train):
        return train

    def _fit(self, data):
        raise NotImplementedError

    def _predict(self, u, i):
        raise NotImplementedError


class MF(Model):
    """``mf.MatrixFactorization(**params)``; ``n_threads`` is the adapter's ``threads``."""

    def __init__(self, name="mf", threads=None, **params):
        super().__init__(threads)
        self.name, self.params = name, params

    def _fit(self, train):
        import mf

        self.model = mf.MatrixFactorization(n_threads=self.threads, **self.params)
        start = time.perf_counter()
        self.model.fit(train)
        return time.perf_counter() - start, list(self.model.history_["seconds"])

    def predict(self, users, items):
        return self.model.predict(users, items).astype(np.float64)


class SurpriseModel(Model):
    """Surprise's ``SVD``, ``SVDpp``, ``BaselineOnly`` or ``KNNBaseline`` (one thread)."""

    library = "surprise"
    LABELS = {"SVD": "SVD", "SVDpp": "SVD++", "BaselineOnly": "BaselineOnly", "KNNBaseline": "KNNBaseline"}

    def __init__(self, algo, name=None, **params):
        super().__init__(threads=1)
        if algo not in self.LABELS:
            raise ValueError(f"algo must be one of {sorted(self.LABELS)}, got {algo!r}")
        self.algo, self.params = algo, params
        self.name = name or f"surprise {self.LABELS[algo]}"

    def available(self):
        if importlib.util.find_spec("surprise") is None or importlib.util.find_spec("pandas") is None:
            return "Surprise not installed: pip install scikit-surprise pandas"
        return None

    def _convert(self, train):
        import pandas as pd
        import surprise

        frame = pd.DataFrame({"u": train.user_indices, "i": train.item_indices, "r": train.values})
        reader = surprise.Reader(rating_scale=train.rating_range)
        return surprise.Dataset.load_from_df(frame, reader).build_full_trainset()

    def _fit(self, trainset):
        import surprise

        self.model = getattr(surprise, self.algo)(**self.params)
        start = time.perf_counter()
        self.model.fit(trainset)
        return time.perf_counter() - start, None

    def _predict(self, u, i):
        est = self.model.predict
        return np.fromiter((est(a, b, clip=False).est for a, b in zip(u.tolist(), i.tolist())), np.float64, u.size)


class LensKitBiasedMF(Model):
    """LensKit 0.14 ``BiasedMF`` (ALS with a damped bias model; ``method`` "cd" or "lu").

    Per-iteration times come from ``fit_iters``; the first also holds the bias
    fit and the sparse set-up, so :attr:`epoch_seconds` lists iterations 2..n.
    """

    library = "lenskit"

    def __init__(self, features=50, iterations=20, reg=0.1, damping=5, method="cd", threads=None, random_state=0,
                 name=None):
        super().__init__(threads)
        self.params = dict(features=features, iterations=iterations, reg=reg, damping=damping, method=method,
                           random_state=random_state)
        self.name = name or "lenskit BiasedMF"
        self._server = None

    def available(self):
        if importlib.util.find_spec("lenskit") is not None:
            return None
        if lenskit_python() is None:
            return ("LensKit not installed: pip install 'lenskit<0.15' in its own environment (numpy<2) "
                    "and set MF_BENCH_LENSKIT_PYTHON to its interpreter")
        return None

    def _convert(self, train):
        arrays = dict(user=train.user_indices, item=train.item_indices, rating=train.values)
        if importlib.util.find_spec("lenskit") is not None:
            return local_lenskit_frame(arrays)
        self._server = Server.shared(lenskit_python())
        return self._server.put(arrays)

    def _fit(self, data):
        if self._server is None:
            self.model, seconds, iters = local_lenskit_fit(data, self.params, self.threads)
            return seconds, iters
        reply = self._server.call("lenskit_fit", data=data, params=self.params, threads=self.threads, model=id(self))
        return reply["seconds"], reply["epoch_seconds"]

    def _predict(self, u, i):
        if self._server is None:
            return local_lenskit_predict(self.model, u, i)
        return self._server.call("lenskit_predict", data=self._server.put(dict(user=u, item=i)), model=id(self))["result"]

    def close(self):
        self._converted = self._train = None


def local_lenskit_frame(arrays):
    import pandas as pd

    return pd.DataFrame({key: np.asarray(value) for key, value in arrays.items()})


_LENSKIT_WARM = set()


def local_lenskit_fit(frame, params, threads):
    """Fit ``BiasedMF`` in this process (after a small untimed fit that compiles its kernels)."""
    import numba
    from lenskit.algorithms.als import BiasedMF

    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    method = params["method"]
    if method not in _LENSKIT_WARM:
        rng = np.random.default_rng(0)
        tiny = local_lenskit_frame(dict(user=rng.integers(0, 50, 500), item=rng.integers(0, 40, 500),
                                        rating=rng.integers(1, 6, 500).astype(np.float32)))
        BiasedMF(4, iterations=2, method=method, rng_spec=0).fit(tiny.drop_duplicates(["user", "item"]))
        _LENSKIT_WARM.add(method)
    algo = BiasedMF(params["features"], iterations=params["iterations"], reg=params["reg"],
                    damping=params["damping"], method=method, rng_spec=params["random_state"])
    times = []
    start = last = time.perf_counter()
    for _ in algo.fit_iters(frame):
        now = time.perf_counter()
        times.append(now - last)
        last = now
    return algo, last - start, times[1:] or times


def local_lenskit_predict(algo, u, i):
    """``predict_for_user`` per user (LensKit 0.14's pairwise ``predict`` fails under pandas 3)."""
    out = np.full(u.size, np.nan)
    order = np.argsort(u, kind="stable")
    for rows in np.split(order, np.flatnonzero(np.diff(u[order])) + 1):
        if rows.size:
            out[rows] = algo.predict_for_user(int(u[rows[0]]), i[rows]).reindex(i[rows]).to_numpy(dtype=np.float64)
    return out


class SparkALS(Model):
    """Spark MLlib ``ALS`` (no biases; ``regParam`` scaled by each row's rating count, like mf's ``reg``).

    Runs in local mode with ``threads`` cores. Spark does not time
    iterations, so :attr:`epoch_seconds` stays None and callers divide the fit
    time (which includes Spark's job set-up) by the iterations.
    """

    library = "spark"
    _session = None

    def __init__(self, rank=10, iterations=10, reg=0.1, threads=None, random_state=0, name=None):
        super().__init__(threads)
        self.params = dict(rank=rank, maxIter=iterations, regParam=reg, seed=random_state,
                           numUserBlocks=self.threads, numItemBlocks=self.threads)
        self.name = name or "spark ALS"

    def available(self):
        if importlib.util.find_spec("pyspark") is None or importlib.util.find_spec("pandas") is None:
            return "pyspark not installed: pip install pyspark pandas pyarrow (and a Java runtime)"
        return None

    @classmethod
    def session(cls, threads):
        if cls._session is None:
            from pyspark.sql import SparkSession

            warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas")

            memory = os.environ.get("MF_BENCH_SPARK_MEMORY", "6g")
            cls._session = (SparkSession.builder.master(f"local[{threads}]").appName("mf-benchmarks")
                            .config("spark.driver.memory", memory)
                            .config("spark.ui.enabled", "false")
                            .config("spark.ui.showConsoleProgress", "false")
                            .config("spark.sql.shuffle.partitions", str(2 * threads))
                            .config("spark.sql.execution.arrow.pyspark.enabled", "true")
                            .getOrCreate())
            cls._session.sparkContext.setLogLevel("ERROR")
        return cls._session

    def _frame(self, **columns):
        import pandas as pd

        frame = self.session(self.threads).createDataFrame(pd.DataFrame(columns))
        frame.cache().count()
        return frame

    def _convert(self, train):
        if self._converted is not None:
            self._converted.unpersist()
        return self._frame(user=train.user_indices.astype(np.int32), item=train.item_indices.astype(np.int32),
                           rating=train.values.astype(np.float32))

    def _fit(self, frame):
        from pyspark.ml.recommendation import ALS

        als = ALS(userCol="user", itemCol="item", ratingCol="rating", coldStartStrategy="nan", **self.params)
        start = time.perf_counter()
        self.model = als.fit(frame)
        return time.perf_counter() - start, None

    def _predict(self, u, i):
        pairs = self._frame(row=np.arange(u.size, dtype=np.int64), user=u.astype(np.int32), item=i.astype(np.int32))
        out = self.model.transform(pairs).select("row", "prediction").toPandas()
        pred = np.full(u.size, np.nan)
        pred[out["row"].to_numpy()] = out["prediction"].to_numpy(dtype=np.float64)
        pairs.unpersist()
        return pred

    def close(self):
        if self._converted is not None:
            self._converted.unpersist()
            self._converted = self._train = None


def shutdown():
    """Stop the Spark session and the peer servers that were started."""
    if SparkALS._session is not None:
        SparkALS._session.stop()
        SparkALS._session = None
    for server in Server.running.values():
        server.close()
    Server.running.clear()


class ImplicitLib:
    """The ``implicit`` library's ALS (``model="als"``) or BPR on implicit feedback, BLAS on one thread.

    ``fit(ratings)`` takes implicit ``mf.Ratings`` and returns the fit's
    seconds; :attr:`epoch_seconds` holds implicit's own per-iteration timer.
    ALS is given ``1 + alpha * r`` with implicit's ``alpha=1`` (implicit
    weights a stored value ``r`` by ``alpha * r``), which is the confidence
    ``mf``'s ``ImplicitALS(alpha=alpha)`` uses.
    """

    library = "implicit"

    def __init__(self, model="als", factors=64, iterations=15, reg=0.01, alpha=1.0, lr=0.01, use_cg=True,
                 threads=None, random_state=0):
        if model not in ("als", "bpr"):
            raise ValueError(f"model must be 'als' or 'bpr', got {model!r}")
        self.model, self.alpha, self.threads = model, alpha, threads or cores()
        self.params = dict(factors=factors, iterations=iterations, regularization=reg, random_state=random_state)
        if model == "als":
            self.params["use_cg"] = use_cg
        else:
            self.params["learning_rate"] = lr
        self.name = f"implicit {model.upper()}"
        self.epoch_seconds = None

    def available(self):
        if importlib.util.find_spec("implicit") is None:
            return "implicit not installed: pip install implicit threadpoolctl"
        return None

    def user_items(self, ratings):
        csr = ratings.to_csr().copy()
        if self.model == "als":
            csr.data = (1.0 + self.alpha * csr.data).astype(np.float32)
        return csr

    def fit(self, ratings):
        if self.model == "als":
            from implicit.cpu.als import AlternatingLeastSquares as cls
        else:
            from implicit.cpu.bpr import BayesianPersonalizedRanking as cls
        csr = self.user_items(ratings)
        self.epoch_seconds = []
        with blas_threads(1):
            self.estimator = cls(num_threads=self.threads, **self.params)
            start = time.perf_counter()
            self.estimator.fit(csr, show_progress=False, callback=lambda it, sec, *rest: self.epoch_seconds.append(sec))
            return time.perf_counter() - start


class MFImplicit:
    """mf's ``ImplicitALS`` (``model="als"``, conjugate gradient) or ``BPR``, with :class:`ImplicitLib`'s interface."""

    library = "mf"

    def __init__(self, model="als", factors=64, iterations=15, reg=0.01, alpha=1.0, lr=0.01, threads=None,
                 random_state=0):
        from mf.models.implicit import BPR, ImplicitALS

        self.threads = threads or cores()
        if model == "als":
            self.estimator = ImplicitALS(factors=factors, iterations=iterations, reg=reg, alpha=alpha,
                                         random_state=random_state, n_threads=self.threads)
        elif model == "bpr":
            self.estimator = BPR(factors=factors, epochs=iterations, reg=reg, lr=lr, random_state=random_state,
                                 n_threads=self.threads)
        else:
            raise ValueError(f"model must be 'als' or 'bpr', got {model!r}")
        self.name = f"mf {type(self.estimator).__name__}"
        self.epoch_seconds = None

    def available(self):
        return None

    def fit(self, ratings):
        start = time.perf_counter()
        self.estimator.fit(ratings)
        seconds = time.perf_counter() - start
        self.epoch_seconds = list(self.estimator.history_["seconds"])
        return seconds


# ---------------------------------------------------------------------- remote server
class Server:
    """A long-lived ``python -m benchmarks.peers serve`` process in another interpreter.

    Requests and replies are JSON lines; arrays travel in .npz files in a
    private temporary folder. :meth:`shared` starts one per interpreter, with
    BLAS on one thread and numba on all cores (each request sets its threads).
    """

    running = {}

    @classmethod
    def shared(cls, python):
        if python not in cls.running:
            cls.running[python] = cls(python, single_thread_blas_env(cores()))
        return cls.running[python]

    def __init__(self, python, env=None):
        self.folder = tempfile.TemporaryDirectory(prefix="mf-bench-")
        self.count = 0
        self.proc = subprocess.Popen([python, "-m", "benchmarks.peers", "serve"], cwd=ROOT, env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def put(self, arrays):
        self.count += 1
        path = os.path.join(self.folder.name, f"{self.count}.npz")
        np.savez(path, **arrays)
        return path

    def call(self, op, **kwargs):
        self.proc.stdin.write(json.dumps(dict(op=op, **kwargs)) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"peer server ({op}) exited with status {self.proc.wait()}")
        reply = json.loads(line)
        if "error" in reply:
            raise RuntimeError(f"peer server ({op}): {reply['error']}")
        if "result" in reply:
            reply["result"] = np.load(reply["result"])["result"]
        return reply

    def close(self):
        self.proc.stdin.close()
        self.proc.wait()
        self.folder.cleanup()


def serve():
    """Answer :class:`Server` requests on stdin (LensKit fits and predictions)."""
    out = sys.stdout
    sys.stdout = sys.stderr
    frames, models = {}, {}
    for line in sys.stdin:
        request = json.loads(line)
        try:
            data = request["data"]
            if data not in frames:
                frames[data] = local_lenskit_frame(dict(np.load(data)))
            if request["op"] == "lenskit_fit":
                models[request["model"]], seconds, iters = local_lenskit_fit(frames[data], request["params"],
                                                                             request["threads"])
                reply = dict(seconds=seconds, epoch_seconds=iters)
            else:
                frame = frames.pop(data)
                path = data + ".out.npz"
                np.savez(path, result=local_lenskit_predict(models[request["model"]], frame["user"].to_numpy(),
                                                            frame["item"].to_numpy()))
                reply = dict(result=path)
        except Exception as exc:  # reported to the caller, which raises it
            reply = dict(error=f"{type(exc).__name__}: {exc}")
        out.write(json.dumps(reply) + "\n")
        out.flush()


# ---------------------------------------------------------------------- start-up programs
_DATA = "import numpy as np\nrng = np.random.default_rng(0)\nu, i = rng.integers(0, 100, 2000), rng.integers(0, 50, 2000)\n"

COLD_START = {
    "surprise SVD": ("bench", _DATA + (
        "import pandas as pd, surprise\n"
        "df = pd.DataFrame({'u': u, 'i': i, 'r': rng.integers(1, 6, 2000)}).drop_duplicates(['u', 'i'])\n"
        "ts = surprise.Dataset.load_from_df(df, surprise.Reader(rating_scale=(1, 5))).build_full_trainset()\n"
        "surprise.SVD(n_factors=8, n_epochs=2).fit(ts).predict(1, 2)\n")),
    "implicit ALS": ("bench", _DATA + (
        "import scipy.sparse as sp, implicit\n"
        "m = sp.csr_matrix((np.ones(2000, np.float32), (u, i)), shape=(100, 50))\n"
        "implicit.cpu.als.AlternatingLeastSquares(factors=8, iterations=2).fit(m, show_progress=False)\n")),
    "lenskit BiasedMF": ("lenskit", _DATA + (
        "import pandas as pd\nfrom lenskit.algorithms.als import BiasedMF\n"
        "df = pd.DataFrame({'user': u, 'item': i, 'rating': rng.integers(1, 6, 2000).astype(float)})\n"
        "BiasedMF(8, iterations=2).fit(df.drop_duplicates(['user', 'item'])).predict_for_user(1, [2])\n")),
    "spark ALS": ("bench", _DATA + (
        "import pandas as pd\nfrom pyspark.sql import SparkSession\nfrom pyspark.ml.recommendation import ALS\n"
        "s = SparkSession.builder.master('local[2]').config('spark.ui.enabled', 'false').getOrCreate()\n"
        "s.sparkContext.setLogLevel('ERROR')\n"
        "df = s.createDataFrame(pd.DataFrame({'user': u, 'item': i, 'rating': rng.integers(1, 6, 2000).astype(float)}))\n"
        "ALS(rank=8, maxIter=2, userCol='user', itemCol='item', ratingCol='rating').fit(df)\ns.stop()\n")),
    "tf-keras seed model": ("tf", _DATA + (
        "import os\nos.environ['TF_CPP_MIN_LOG_LEVEL'] = '3'\n"
        "from keras.layers import Dense, Dot, Embedding, Flatten, Input\nfrom keras.models import Model\n"
        "a, b = Input(shape=(1,)), Input(shape=(1,))\n"
        "d = Dot(axes=1)([Flatten()(Embedding(100, 8)(a)), Flatten()(Embedding(50, 8)(b))])\n"
        "m = Model(inputs=[a, b], outputs=Dense(1)(Dense(16, activation='relu')(d)))\n"
        "m.compile(optimizer='adam', loss='mean_squared_error')\n"
        "m.fit([u, i], rng.integers(1, 6, 2000).astype('float32'), epochs=1, verbose=0)\n")),
    "mf.keras seed model": ("bench", _DATA + (
        "from mf.keras.layers import Dense, Dot, Embedding, Flatten, Input\nfrom mf.keras.models import Model\n"
        "a, b = Input(shape=(1,)), Input(shape=(1,))\n"
        "d = Dot(axes=1)([Flatten()(Embedding(100, 8)(a)), Flatten()(Embedding(50, 8)(b))])\n"
        "m = Model(inputs=[a, b], outputs=Dense(1)(Dense(16, activation='relu')(d)))\n"
        "m.compile(optimizer='adam', loss='mean_squared_error')\n"
        "m.fit([u, i], rng.integers(1, 6, 2000).astype('float32'), epochs=1, verbose=0)\n")),
}
"""name -> (interpreter kind, program): import a library and fit it once on 2,000 random ratings."""

def cold_start_python(kind):
    """Interpreter for a :data:`COLD_START` program kind, or None when that library cannot be run."""
    if kind == "lenskit":
        return lenskit_python()
    if kind == "tf":
        return tf_python()
    return sys.executable


if __name__ == "__main__":
    if sys.argv[1:] != ["serve"]:
        sys.exit("usage: python -m benchmarks.peers serve   (started by benchmarks.peers.Server)")
    serve()
