"""Callbacks for ``Model.fit``: ``History``, ``EarlyStopping``, ``ModelCheckpoint``,
``LambdaCallback`` and the ``Callback`` base class, with Keras's hooks.

``fit`` runs whole epochs inside one kernel call; a callback that overrides a
batch hook (``on_train_batch_begin``/``end`` or ``on_batch_begin``/``end``)
makes it run batch by batch instead, so that the hook sees every batch.

Examples
--------
>>> from mf.keras.callbacks import EarlyStopping
>>> stop = EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
>>> stop.patience
2
"""

import os
import warnings

__all__ = ["Callback", "History", "EarlyStopping", "ModelCheckpoint", "LambdaCallback"]


class Callback:
    """Base class.  ``self.model`` and ``self.params`` are set by ``fit``.

    Examples
    --------
    >>> import numpy as np
    >>> from mf.keras.layers import Input, Embedding, Flatten
    >>> from mf.keras.models import Model
    >>> ids = Input(shape=(1,))
    >>> model = Model(ids, Flatten()(Embedding(4, 1)(ids)))
    >>> model.compile(optimizer="sgd", loss="mse")
    >>> class Report(Callback):
    ...     def on_epoch_end(self, epoch, logs=None):
    ...         print(epoch, sorted(logs), self.params["epochs"])
    >>> _ = model.fit(np.arange(4), np.ones(4), epochs=2, callbacks=[Report()], verbose=0)
    0 ['loss'] 2
    1 ['loss'] 2
    """

    def __init__(self):
        self.model = None
        self.params = {}

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        self.params = params

    def on_train_begin(self, logs=None):
        """Called once before the first epoch."""

    def on_train_end(self, logs=None):
        """Called once after the last epoch."""

    def on_epoch_begin(self, epoch, logs=None):
        """Called at the start of epoch ``epoch`` (0-based)."""

    def on_epoch_end(self, epoch, logs=None):
        """Called at the end of an epoch with ``logs`` = the epoch's loss and metrics."""

    def on_train_batch_begin(self, batch, logs=None):
        """Called before each training batch."""
        self.on_batch_begin(batch, logs=logs)

    def on_train_batch_end(self, batch, logs=None):
        """Called after each training batch with the running mean loss of the epoch."""
        self.on_batch_end(batch, logs=logs)

    def on_batch_begin(self, batch, logs=None):
        """Alias hook called by :meth:`on_train_batch_begin`."""

    def on_batch_end(self, batch, logs=None):
        """Alias hook called by :meth:`on_train_batch_end`."""

    def _wants_batches(self):
        cls = type(self)
        return any(getattr(cls, hook) is not getattr(Callback, hook)
                   for hook in ("on_train_batch_begin", "on_train_batch_end",
                                "on_batch_begin", "on_batch_end"))


class History(Callback):
    """Records the epoch logs: ``history`` (dict of lists of floats) and ``epoch``.

    ``fit`` adds one to its callbacks and returns it.

    Examples
    --------
    >>> import numpy as np
    >>> from mf.keras.layers import Input, Embedding, Flatten
    >>> from mf.keras.models import Model
    >>> ids = Input(shape=(1,))
    >>> model = Model(ids, Flatten()(Embedding(4, 1)(ids)))
    >>> model.compile(optimizer="sgd", loss="mse")
    >>> history = model.fit(np.arange(4), np.ones(4), epochs=3, verbose=0)
    >>> isinstance(history, History), history.epoch, len(history.history["loss"])
    (True, [0, 1, 2], 3)
    """

    def __init__(self):
        super().__init__()
        self.history = {}
        self.epoch = []

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)
        self.model.history = self


class _MonitorMixin:
    def _init_monitor(self, monitor, mode, min_delta):
        if mode not in ("auto", "min", "max"):
            warnings.warn(f"{type(self).__name__} mode '{mode}' is unknown, fallback to auto "
                          "mode.", stacklevel=3)
            mode = "auto"
        self.monitor = monitor
        self.mode = mode
        self.min_delta = abs(min_delta)

    def _is_improvement(self, value, reference):
        if reference is None:
            return True
        if self.mode == "max":
            return value - self.min_delta > reference
        # 'auto': every quantity mf.keras reports (losses and errors) decreases.
        return value + self.min_delta < reference

    def _monitored(self, logs):
        value = (logs or {}).get(self.monitor)
        if value is None:
            warnings.warn(f"{type(self).__name__} conditioned on metric `{self.monitor}` which "
                          f"is not available. Available metrics are: "
                          f"{','.join(list((logs or {}).keys()))}", stacklevel=3)
        return value


class EarlyStopping(_MonitorMixin, Callback):
    """Stop when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs.

    ``restore_best_weights=True`` puts back the weights of the best epoch at the end.

    Examples
    --------
    >>> import numpy as np
    >>> from mf.keras.layers import Input, Embedding, Flatten
    >>> from mf.keras.models import Model
    >>> ids = Input(shape=(1,))
    >>> model = Model(ids, Flatten()(Embedding(4, 1)(ids)))
    >>> model.compile(optimizer="sgd", loss="mse")
    >>> stop = EarlyStopping(monitor="loss", min_delta=10.0, patience=1)  # no epoch gains 10
    >>> history = model.fit(np.arange(4), np.ones(4), epochs=10, callbacks=[stop], verbose=0)
    >>> history.epoch, stop.stopped_epoch
    ([0, 1], 1)
    """

    def __init__(self, monitor="val_loss", min_delta=0, patience=0, verbose=0, mode="auto",
                 baseline=None, restore_best_weights=False, start_from_epoch=0):
        super().__init__()
        self._init_monitor(monitor, mode, min_delta)
        self.patience = patience
        self.verbose = verbose
        self.baseline = baseline
        self.restore_best_weights = restore_best_weights
        self.start_from_epoch = start_from_epoch
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_weights = None
        self.best_epoch = 0

    def on_train_begin(self, logs=None):
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_weights = None
        self.best_epoch = 0

    def on_epoch_end(self, epoch, logs=None):
        current = self._monitored(logs)
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = self.model.get_weights()
            self.best_epoch = epoch
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print("Restoring model weights from the end of the best epoch: "
                      f"{self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)


class ModelCheckpoint(_MonitorMixin, Callback):
    """Save the model (or only its weights) at the end of every epoch, or only when
    ``monitor`` improves (``save_best_only=True``).

    ``filepath`` may contain ``{epoch}`` and log keys, e.g.
    ``'ckpt-{epoch:02d}-{val_loss:.3f}.mfk'``.  Files are written with
    :meth:`Model.save` (or :meth:`Model.save_weights`).

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from mf.keras.layers import Input, Embedding, Flatten
    >>> from mf.keras.models import Model
    >>> ids = Input(shape=(1,))
    >>> model = Model(ids, Flatten()(Embedding(4, 1)(ids)))
    >>> model.compile(optimizer="sgd", loss="mse")
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     checkpoint = ModelCheckpoint(os.path.join(folder, "ckpt-{epoch:02d}.mfk"))
    ...     _ = model.fit(np.arange(4), np.ones(4), epochs=2, callbacks=[checkpoint], verbose=0)
    ...     print(sorted(os.listdir(folder)))
    ['ckpt-01.mfk', 'ckpt-02.mfk']
    """

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False,
                 save_weights_only=False, mode="auto", save_freq="epoch",
                 initial_value_threshold=None):
        super().__init__()
        if save_freq != "epoch":
            raise NotImplementedError("ModelCheckpoint: only save_freq='epoch' is supported")
        self._init_monitor(monitor, mode, 0)
        self.filepath = os.fspath(filepath)
        self.verbose = verbose
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        self.best = initial_value_threshold

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        path = self.filepath.format(epoch=epoch + 1, **logs)
        if self.save_best_only:
            current = self._monitored(logs)
            if current is None or not self._is_improvement(current, self.best):
                if self.verbose > 0 and current is not None:
                    print(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from "
                          f"{self.best:.5f}")
                return
            if self.verbose > 0:
                previous = "inf" if self.best is None else f"{self.best:.5f}"
                print(f"\nEpoch {epoch + 1}: {self.monitor} improved from {previous} to "
                      f"{current:.5f}, saving model to {path}")
            self.best = current
        elif self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: saving model to {path}")
        if self.save_weights_only:
            self.model.save_weights(path)
        else:
            self.model.save(path)


class LambdaCallback(Callback):
    """A callback from plain functions:
    ``LambdaCallback(on_epoch_end=lambda epoch, logs: ...)``.

    Examples
    --------
    >>> import numpy as np
    >>> from mf.keras.layers import Input, Embedding, Flatten
    >>> from mf.keras.models import Model
    >>> ids = Input(shape=(1,))
    >>> model = Model(ids, Flatten()(Embedding(4, 1)(ids)))
    >>> model.compile(optimizer="sgd", loss="mse")
    >>> steps = []
    >>> count = LambdaCallback(on_train_batch_end=lambda batch, logs: steps.append(batch))
    >>> _ = model.fit(np.arange(4), np.ones(4), batch_size=2, epochs=2, callbacks=[count], verbose=0)
    >>> steps
    [0, 1, 0, 1]
    """

    _HOOKS = ("on_epoch_begin", "on_epoch_end", "on_train_begin", "on_train_end",
              "on_train_batch_begin", "on_train_batch_end")

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_train_begin=None,
                 on_train_end=None, on_train_batch_begin=None, on_train_batch_end=None,
                 **kwargs):
        super().__init__()
        aliases = {"on_batch_begin": "on_train_batch_begin", "on_batch_end": "on_train_batch_end"}
        given = dict(on_epoch_begin=on_epoch_begin, on_epoch_end=on_epoch_end,
                     on_train_begin=on_train_begin, on_train_end=on_train_end,
                     on_train_batch_begin=on_train_batch_begin,
                     on_train_batch_end=on_train_batch_end)
        for key, fn in kwargs.items():
            if key not in aliases:
                raise TypeError(f"LambdaCallback got an unexpected keyword argument {key!r}")
            given[aliases[key]] = fn
        for hook, fn in given.items():
            if fn is not None:
                setattr(self, hook, fn)

    def _wants_batches(self):
        return "on_train_batch_begin" in vars(self) or "on_train_batch_end" in vars(self)
