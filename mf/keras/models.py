"""``Model``: a Keras functional model over integer ids, trained by numba kernels.

``Model(inputs, outputs)`` compiles the layer graph once into a plan (see
:mod:`mf.kernels.keras_graph`).  ``fit`` then runs whole epochs of
mini-batches -- forward pass, loss, backward pass, Keras's optimizer update --
inside the kernels, with Keras's batching, shuffling, ``History``, callbacks
and progress output.

Examples
--------
>>> import numpy as np
>>> from mf.keras import backend, utils
>>> from mf.keras.models import Model
>>> from mf.keras.layers import Input, Embedding, Flatten, Dot, Dense
>>> backend.clear_session(); utils.set_random_seed(0)
>>> u, i = Input(shape=(1,)), Input(shape=(1,))
>>> dot = Dot(axes=1)([Flatten()(Embedding(5, 3)(u)), Flatten()(Embedding(4, 3)(i))])
>>> model = Model(inputs=[u, i], outputs=Dense(1)(dot))
>>> model.compile(optimizer="adam", loss="mean_squared_error")
>>> users, items = np.array([0, 1, 2, 4]), np.array([3, 2, 1, 0])
>>> history = model.fit([users, items], np.array([4.0, 3.0, 5.0, 1.0]), epochs=2, verbose=0)
>>> sorted(history.history), history.epoch, history.params
(['loss'], [0, 1], {'verbose': 0, 'epochs': 2, 'steps': 1})
>>> model.predict([users, items]).shape
(4, 1)
"""

import io
import json
import math
import numbers
import os
import sys
import time

import numpy as np

from ..kernels import keras_graph as kg
from ..persist import write_npz_atomic
from . import _summary, backend, callbacks as callbacks_module, layers as layers_module
from . import losses as losses_module, metrics as metrics_module, optimizers as optimizers_module
from ._progbar import Progbar, _dynamic_display

__all__ = ["Model", "load_model"]

_ACT_CODES = {"linear": kg.ACT_LINEAR, "relu": kg.ACT_RELU, "sigmoid": kg.ACT_SIGMOID,
              "tanh": kg.ACT_TANH}
_MERGE_CODES = {layers_module.Concatenate: kg.OP_CONCAT, layers_module.Add: kg.OP_ADD,
                layers_module.Multiply: kg.OP_MUL}
_LAYER_CLASSES = {c.__name__: c for c in (
    layers_module.InputLayer, layers_module.Embedding, layers_module.Flatten, layers_module.Dot,
    layers_module.Concatenate, layers_module.Add, layers_module.Multiply, layers_module.Dense)}
_LIST_INPUT = (layers_module.Dot, layers_module.Concatenate, layers_module.Add,
               layers_module.Multiply)
_PREDICT_CHUNK = 512
_PARALLEL_MIN_ROWS = 16384  # smaller inputs run on one thread: starting threads costs more
_FORMAT = "mf.keras.model"
_WEIGHTS_FORMAT = "mf.keras.weights"


def _as_tensor_list(value, what):
    values = list(value) if isinstance(value, (list, tuple)) else [value]
    for v in values:
        if not isinstance(v, layers_module.KerasTensor):
            raise TypeError(f"Model {what} must be mf.keras tensors (from mf.keras.layers), got "
                            f"{type(v).__name__}")
    return values


def _map_graph(inputs, output):
    """Keras's graph traversal: nodes in topological order, layers ordered by depth."""
    order = []
    finished = set()
    first_seen = {}

    def visit(tensor):
        layer, node_index, _ = tensor._keras_history
        node = layer._inbound_nodes[node_index]
        if node in finished:
            return
        first_seen.setdefault(layer, len(first_seen))
        for t in node.input_tensors:
            visit(t)
        finished.add(node)
        order.append(node)

    visit(output)
    in_graph = set(order)
    node_depth = {}
    layer_depth = {}
    for node in reversed(order):
        depth = max(node_depth.setdefault(node, 0), layer_depth.get(node.layer, 0))
        layer_depth[node.layer] = depth
        node_depth[node] = depth
        for parent in node.parent_nodes:
            if parent in in_graph:
                node_depth[parent] = max(depth + 1, node_depth.get(parent, 0))
    for t in inputs:
        layer = t._keras_history[0]
        if layer not in layer_depth:  # an input the output does not depend on
            layer_depth[layer] = 0
            first_seen[layer] = -1
            node = layer._inbound_nodes[0]
            node_depth[node] = 0
            order.insert(0, node)
    input_layers = {t._keras_history[0] for t in inputs}
    for node in order:
        if isinstance(node.layer, layers_module.InputLayer) and node.layer not in input_layers:
            raise ValueError(f"Graph disconnected: the output depends on input "
                             f"'{node.layer.name}', which is not in the model's inputs")
    layers = sorted(layer_depth, key=lambda layer: (-layer_depth[layer], first_seen[layer]))
    return order, node_depth, layers


def _check_ids(arrays, names):
    """Validated 1-d arrays of ids (from arrays of shape (n,) or (n, 1))."""
    out = []
    for k, (a, name) in enumerate(zip(arrays, names)):
        a = np.asarray(a)
        if a.dtype.kind not in "iuf":
            raise TypeError(f"x[{k}] (input '{name}'): ids must be integers or integral floats, "
                            f"got an array of dtype {a.dtype}")
        if a.ndim == 2 and a.shape[1] == 1:
            a = a[:, 0]
        if a.ndim != 1:
            raise ValueError(f"x[{k}] (input '{name}'): expected ids of shape (n,) or (n, 1), "
                             f"got shape {a.shape}")
        if a.dtype.kind == "f":
            bad = ~np.isfinite(a) | (a != np.floor(a))
            if bad.any():
                r = int(np.flatnonzero(bad)[0])
                raise ValueError(f"x[{k}] (input '{name}') holds the non-integral id {a[r]!r} "
                                 f"at row {r}: ids must be whole numbers")
        out.append(a)
    lengths = [a.shape[0] for a in out]
    if len(set(lengths)) > 1:
        raise ValueError("Data cardinality is ambiguous. Make sure all arrays contain the same "
                         f"number of samples. 'x' sizes: {', '.join(map(str, lengths))}")
    return out


class Model:
    """A functional model from ``inputs`` (``Input`` tensors of ids) to one ``outputs`` tensor.

    Parameters
    ----------
    inputs : KerasTensor or list of KerasTensor
        The ``Input(shape=(1,))`` tensors, in the order ``fit``/``predict`` take them.
    outputs : KerasTensor
        The output tensor.
    name : str, optional
        Defaults to ``'functional'``, ``'functional_1'``, ... as in Keras.

    Examples
    --------
    >>> import numpy as np
    >>> from mf.keras.layers import Input, Embedding, Flatten, Dot
    >>> user, item = Input(shape=(1,)), Input(shape=(1,))
    >>> score = Dot(axes=1)([Flatten()(Embedding(3, 2)(user)), Flatten()(Embedding(4, 2)(item))])
    >>> model = Model(inputs=[user, item], outputs=score)
    >>> model.predict([np.array([0, 2]), np.array([3, 1])]).shape
    (2, 1)
    """

    def __init__(self, inputs=None, outputs=None, name=None, trainable=True):
        if inputs is None or outputs is None:
            raise NotImplementedError("mf.keras supports functional models only: "
                                      "Model(inputs=..., outputs=...); subclassing is not "
                                      "supported")
        self.inputs = _as_tensor_list(inputs, "inputs")
        outs = _as_tensor_list(outputs, "outputs")
        if len(outs) != 1:
            raise NotImplementedError(f"mf.keras models have one output; got {len(outs)}")
        self.outputs = outs
        for t in self.inputs:
            if not isinstance(t._keras_history[0], layers_module.InputLayer):
                raise ValueError(f"Model inputs must come from mf.keras.layers.Input; "
                                 f"'{t.name}' is the output of a layer")
        if len({id(t) for t in self.inputs}) != len(self.inputs):
            raise ValueError("The same Input is listed twice in the model inputs")
        if outs[0]._is_ids:
            raise NotImplementedError(f"The model output '{outs[0].name}' is an Input of ids; "
                                      "the output must be computed by layers")
        self.name = name if name is not None else backend.unique_name("functional")
        self.trainable = trainable
        order, node_depth, layers = _map_graph(self.inputs, outs[0])
        names = [layer.name for layer in layers]
        for n in names:
            if names.count(n) > 1:
                raise ValueError(f'The name "{n}" is used {names.count(n)} times in the model. '
                                 "All layer names should be unique.")
        self._order = order
        self._nodes = set(order)
        self._node_depth = node_depth
        self.layers = layers
        self._vars = [v for layer in layers for v in layer._weights]
        self._compile_plan()
        self._flat = np.zeros(sum(int(v.value.size) for v in self._vars), dtype=np.float32)
        self._bind()
        self.optimizer = None
        self.loss = None
        self.compiled = False
        self._metrics = []
        self.history = None
        self.stop_training = False

    # -- plan -----------------------------------------------------------------
    def _compile_plan(self):
        offsets = {}
        groups = []
        reg = []
        pos = 0
        mask_rows = 0
        for v in self._vars:
            offsets[id(v)] = pos
            is_table = isinstance(v._layer, layers_module.Embedding)
            rows, dim = (v.shape if is_table else (0, 0))
            groups.append([pos, v.value.size, rows, dim, is_table, 1, 0, mask_rows])
            mask_rows += rows
            r = v.regularizer
            reg.append([r.l1 if r else 0.0, r.l2 if r else 0.0])
            pos += v.value.size
        group_of = {id(v): g for g, v in enumerate(self._vars)}
        input_index = {id(t): k for k, t in enumerate(self.inputs)}
        slots = {}
        ops = []
        op_inputs = []
        width = 0
        self._embed_inputs = [[] for _ in self.inputs]
        for node in self._order:
            layer = node.layer
            ins = node.input_tensors
            out = node.output
            if isinstance(layer, layers_module.InputLayer):
                continue
            if isinstance(layer, layers_module.Flatten):
                slots[id(out)] = slots[id(ins[0])]
                continue
            row = [0] * 10
            row[1] = width
            if isinstance(layer, layers_module.Embedding):
                var = layer.embeddings
                k = input_index[id(ins[0])]
                self._embed_inputs[k].append(layer)
                row[0], row[2] = kg.OP_EMBED, layer.output_dim
                row[3:8] = [k, offsets[id(var)], layer.input_dim, group_of[id(var)], 1]
            elif isinstance(layer, layers_module.Dot):
                (a, w), (c, _) = slots[id(ins[0])], slots[id(ins[1])]
                row[0], row[2] = kg.OP_DOT, 1
                row[3:9] = [a, c, w, int(layer.normalize), -1, -1]
            elif type(layer) in _MERGE_CODES:
                row[0] = _MERGE_CODES[type(layer)]
                row[2] = out.shape[-1]
                row[3:5] = [len(op_inputs), len(ins)]
                op_inputs.extend(slots[id(t)] for t in ins)
            elif isinstance(layer, layers_module.Dense):
                a, w = slots[id(ins[0])]
                row[0], row[2] = kg.OP_DENSE, layer.units
                bias = offsets[id(layer.bias)] if layer.use_bias else -1
                row[3:9] = [a, w, offsets[id(layer.kernel)], bias, _ACT_CODES[layer.activation], 1]
            else:
                raise NotImplementedError(f"{layer._describe()} is not supported by mf.keras")
            ops.append(row)
            slots[id(out)] = (width, row[2])
            width += row[2]
        self._ops = np.array(ops, dtype=np.int64).reshape(-1, 10)
        self._op_inputs = np.array(op_inputs, dtype=np.int64).reshape(-1, 2)
        self._groups = np.array(groups, dtype=np.int64).reshape(-1, 8)
        self._mask_rows = mask_rows
        self._reg = np.array(reg, dtype=np.float32).reshape(-1, 2)
        self._width = max(width, 1)
        self._out_off, self._out_w = slots[id(self.outputs[0])]
        self._fuse_embedding_dots()
        last = self.outputs[0]._keras_history[0]
        self._sigmoid_op = (len(ops) - 1 if isinstance(last, layers_module.Dense)
                            and last.activation == "sigmoid" else -1)

    def _fuse_embedding_dots(self):
        """Let a Dot of two embedding lookups read the table rows directly (when the
        lookups feed nothing else), skipping the copy of the rows into the batch."""
        ops = self._ops
        readers = {self._out_off: 1}
        for row in ops:
            if row[0] == kg.OP_DOT:
                read = [row[3], row[4]]
            elif row[0] == kg.OP_DENSE:
                read = [row[3]]
            elif row[0] == kg.OP_EMBED:
                read = []
            else:
                read = list(self._op_inputs[row[3]:row[3] + row[4], 0])
            for offset in read:
                readers[offset] = readers.get(offset, 0) + 1
        embed_at = {row[1]: k for k, row in enumerate(ops) if row[0] == kg.OP_EMBED}
        for row in ops:
            if row[0] == kg.OP_DOT and not row[6] and row[3] in embed_at \
                    and row[4] in embed_at and readers[row[3]] == readers[row[4]] == 1:
                row[7], row[8] = embed_at[row[3]], embed_at[row[4]]
                ops[row[7], 9] = ops[row[8], 9] = 1

    def _train_plan(self, loss, optimizer=None):
        """Plan arrays for training: current trainable flags, logits for cross-entropy, and
        which tables sum squared per-sample gradients (as Keras's sparse updates do)."""
        ops = self._ops.copy()
        groups = self._groups.copy()
        squares = optimizer is not None and optimizer._code in (kg.OPT_ADAM, kg.OPT_RMSPROP,
                                                                kg.OPT_ADAGRAD)
        for g, v in enumerate(self._vars):
            groups[g, 5] = int(v.trainable and self.trainable)
            groups[g, 6] = int(squares and groups[g, 4] and groups[g, 5] and not v.regularizer)
        for k in range(ops.shape[0]):
            if ops[k, 0] == kg.OP_EMBED:
                ops[k, 7] = groups[ops[k, 6], 5]
                ops[k, 8] = groups[ops[k, 6], 6]
            elif ops[k, 0] == kg.OP_DENSE:
                kernel_group = int(np.flatnonzero(self._groups[:, 0] == ops[k, 5])[0])
                ops[k, 8] = groups[kernel_group, 5]
        out_sigmoid = loss._code == kg.LOSS_BCE and self._sigmoid_op >= 0
        if out_sigmoid:
            ops[self._sigmoid_op, 7] = kg.ACT_LINEAR
        return ops, groups, out_sigmoid

    def _sequential_like(self):
        by_depth = {}
        for node, depth in self._node_depth.items():
            by_depth.setdefault(depth, []).append(node)
        for nodes in by_depth.values():
            if len(nodes) > 1 or (len(nodes) == 1 and len(nodes[0].input_tensors) > 1):
                return False
        return all(sum(node in self._nodes for node in layer._inbound_nodes) <= 1
                   for layer in self.layers)

    # -- weights --------------------------------------------------------------
    def _bind(self):
        """Make every weight a view of this model's flat parameter buffer."""
        pos = 0
        for v in self._vars:
            size = v.value.size
            view = self._flat[pos:pos + size].reshape(v.shape)
            if v._bound is not self._flat:
                view[...] = v.value
                v._value = view
                v._bound = self._flat
            pos += size

    def _ensure_bound(self):
        for v in self._vars:
            if v._bound is not self._flat:
                self._bind()
                return

    @property
    def weights(self):
        return list(self._vars)

    @property
    def trainable_weights(self):
        return [v for v in self._vars if v.trainable and self.trainable]

    @property
    def non_trainable_weights(self):
        return [v for v in self._vars if not (v.trainable and self.trainable)]

    def get_weights(self):
        """Copies of all weights in Keras order (e.g. embeddings, then dense kernel and bias).

        Examples
        --------
        >>> import numpy as np
        >>> from mf.keras.layers import Input, Embedding, Flatten, Dense
        >>> ids = Input(shape=(1,))
        >>> model = Model(ids, Dense(1)(Flatten()(Embedding(10, 4)(ids))))
        >>> [w.shape for w in model.get_weights()]
        [(10, 4), (4, 1), (1,)]
        """
        return [v.numpy() for v in self._vars]

    def set_weights(self, weights):
        """Overwrite all weights from a list of arrays in :meth:`get_weights` order.

        Examples
        --------
        >>> import numpy as np
        >>> from mf.keras.layers import Input, Embedding, Flatten, Dense
        >>> ids = Input(shape=(1,))
        >>> model = Model(ids, Dense(1)(Flatten()(Embedding(10, 4)(ids))))
        >>> model.set_weights([np.zeros((10, 4)), np.ones((4, 1)), np.full(1, 0.5)])
        >>> model.predict(np.array([3])).tolist()
        [[0.5]]
        """
        layers_module.assign_weights(self._vars, weights, f"Model '{self.name}'")

    def count_params(self):
        """Number of weights (scalars) of the model.

        Examples
        --------
        >>> import numpy as np
        >>> from mf.keras.layers import Input, Embedding, Flatten, Dense
        >>> ids = Input(shape=(1,))
        >>> model = Model(ids, Dense(1)(Flatten()(Embedding(10, 4)(ids))))
        >>> model.count_params()  # 10 x 4 embeddings, 4 x 1 kernel, 1 bias
        45
        """
        return int(self._flat.size)

    def get_layer(self, name=None, index=None):
        """A layer by ``name`` or by position ``index`` in :attr:`layers`.

        Examples
        --------
        >>> from mf.keras import backend
        >>> backend.clear_session()
        >>> from mf.keras.layers import Input, Embedding, Flatten, Dense
        >>> ids = Input(shape=(1,))
        >>> model = Model(ids, Dense(1)(Flatten()(Embedding(10, 4)(ids))))
        >>> model.get_layer("dense").units, model.get_layer(index=1).name
        (1, 'embedding')
        """
        if index is not None:
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"No such layer: {name}. Existing layers are: "
                         f"{[layer.name for layer in self.layers]}.")

    def _penalty(self):
        return float(sum(v.regularizer(v.value) for v in self._vars if v.regularizer))

    # -- compile --------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None,
                weighted_metrics=None, run_eagerly=False, steps_per_execution=1,
                jit_compile="auto", auto_scale_loss=True):
        """Choose the optimizer, loss and metrics (Keras signature).

        ``run_eagerly``, ``steps_per_execution``, ``jit_compile`` and
        ``auto_scale_loss`` are accepted for compatibility and have no effect.

        Examples
        --------
        >>> from mf.keras.layers import Input, Embedding, Flatten, Dense
        >>> ids = Input(shape=(1,))
        >>> model = Model(ids, Dense(1)(Flatten()(Embedding(10, 4)(ids))))
        >>> model.compile(optimizer="adam", loss="mse", metrics=["mae"])
        >>> model.optimizer
        Adam(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-07)
        >>> model.loss, model.metrics_names
        (MeanSquaredError(), ['loss', 'mae'])
        """
        if loss_weights is not None or weighted_metrics is not None:
            raise NotImplementedError("loss_weights and weighted_metrics are not supported")
        self.optimizer = optimizers_module.get(optimizer)
        self.loss = None if loss is None else losses_module.get(loss)
        if isinstance(metrics, dict):
            raise NotImplementedError("metrics as a dict are not supported; pass a list")
        if isinstance(metrics, (str, metrics_module.Metric)):
            metrics = [metrics]
        self._metrics = [metrics_module.get(m) for m in (metrics or [])]
        names = ["loss"] + [m.name for m in self._metrics]
        if len(set(names)) != len(names):
            raise ValueError(f"Metric names must be unique and differ from 'loss'; got {names}")
        self.compiled = True

    @property
    def metrics_names(self):
        return ["loss"] + [m.name for m in self._metrics]

    def _optimizer_param_count(self):
        """(count, bytes) of Keras's optimizer variables once training has started."""
        if not self.compiled or self.optimizer._slots is None:
            return None
        n = sum(int(v.value.size) for v in self.trainable_weights) * self.optimizer._n_slots
        return n + 2, 4 * n + 12  # + iterations (int64) and learning_rate (float32)

    # -- data -----------------------------------------------------------------
    def _ids(self, x):
        names = [t.name for t in self.inputs]
        if isinstance(x, dict):
            missing = [n for n in names if n not in x]
            if missing:
                raise ValueError(f"x is missing the inputs {missing}; expected keys {names}")
            arrays = [x[n] for n in names]
        elif isinstance(x, (list, tuple)) and not (len(self.inputs) == 1 and np.ndim(x) == 1):
            arrays = list(x)
        else:
            arrays = [x]
        if len(arrays) != len(self.inputs):
            raise ValueError(f'Layer "{self.name}" expects {len(self.inputs)} input(s) with keys '
                             f"{names}, but it received {len(arrays)} input tensors. Pass x as a "
                             f"list of {len(self.inputs)} arrays of ids.")
        arrays = _check_ids(arrays, names)
        n = arrays[0].shape[0]
        ids = np.empty((len(arrays), n), dtype=np.int32)
        for k, a in enumerate(arrays):
            for layer in self._embed_inputs[k]:
                if n and (a.min() < 0 or a.max() >= layer.input_dim):
                    bad = np.flatnonzero((a < 0) | (a >= layer.input_dim))
                    r = int(bad[0])
                    value = a[r].item()
                    value = int(value) if float(value).is_integer() else value
                    raise ValueError(
                        f"Invalid id for {layer._describe()} (x[{k}], input '{names[k]}'): "
                        f"indices[{r},0] = {value} is not in [0, {layer.input_dim}). Ids must be "
                        f"integers in [0, input_dim): {(a < 0).sum()} negative and "
                        f"{(a >= layer.input_dim).sum()} too large; map raw ids to 0..n-1 or "
                        "raise input_dim")
            ids[k] = a
        return ids

    def _targets(self, y, n, what="y"):
        if y is None:
            raise ValueError(f"{what} is required")
        y = np.asarray(y)
        if y.dtype.kind not in "iufb":
            raise TypeError(f"{what} must be numeric, got an array of dtype {y.dtype}")
        if y.shape[:1] != (n,):
            raise ValueError(f"{what} has {y.shape[0] if y.ndim else 0} rows but x has {n}; "
                             "they must match")
        y = y.reshape(n, -1).astype(np.float32)
        if y.shape[1] != self._out_w:
            raise ValueError(f"{what} has {y.shape[1]} values per sample but the model outputs "
                             f"{self._out_w}")
        bad = ~np.isfinite(y)
        if bad.any():
            r = int(np.flatnonzero(bad.any(axis=1))[0])
            raise ValueError(f"{what} contains {int(bad.sum())} NaN or infinite value(s), the "
                             f"first at row {r}; remove or impute them before training (Keras "
                             "would silently train on them and turn every weight into NaN)")
        return np.ascontiguousarray(y)

    # -- fit ------------------------------------------------------------------
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
            sample_weight=None, initial_epoch=0, steps_per_epoch=None, validation_steps=None,
            validation_batch_size=None, validation_freq=1):
        """Train for ``epochs`` epochs of mini-batches; returns a :class:`History`.

        Follows Keras: ``batch_size`` defaults to 32; ``validation_split``
        holds out the *last* fraction of the samples (before shuffling);
        ``history.history['loss']`` is the mean over the epoch of the batch
        losses (each measured before its update), ``val_loss`` the loss on the
        validation data at the end of the epoch.  ``validation_batch_size``
        has no effect (validation is exact).

        Examples
        --------
        >>> import numpy as np
        >>> from mf.keras.layers import Input, Embedding, Flatten, Dense
        >>> ids = Input(shape=(1,))
        >>> model = Model(ids, Dense(1)(Flatten()(Embedding(10, 4)(ids))))
        >>> model.compile(optimizer="adam", loss="mse", metrics=["mae"])
        >>> x, y = np.array([0, 1, 2, 3]), np.array([1.0, 2.0, 3.0, 4.0])
        >>> history = model.fit(x, y, epochs=3, batch_size=2, validation_split=0.25, verbose=0)
        >>> sorted(history.history), history.epoch, history.params["steps"]  # 3 samples left to train on
        (['loss', 'mae', 'val_loss', 'val_mae'], [0, 1, 2], 2)
        """
        if not self.compiled:
            raise ValueError("You must call `compile()` before using the model.")
        if self.loss is None:
            raise ValueError("The model was compiled without a loss; pass loss=... to compile()")
        for arg, value in (("class_weight", class_weight), ("sample_weight", sample_weight),
                           ("steps_per_epoch", steps_per_epoch),
                           ("validation_steps", validation_steps)):
            if value is not None:
                raise NotImplementedError(f"fit: {arg} is not supported")
        batch_size = 32 if batch_size is None else _positive_int("batch_size", batch_size)
        epochs = _positive_int("epochs", epochs, allow_zero=True)
        initial_epoch = _positive_int("initial_epoch", initial_epoch, allow_zero=True)
        validation_freq = _positive_int("validation_freq", validation_freq)
        verbose = _check_verbose(verbose)
        ids = self._ids(x)
        n = ids.shape[1]
        targets = self._targets(y, n)
        val = None
        if validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
                raise ValueError("validation_data must be a tuple (x_val, y_val)")
            if len(validation_data) == 3 and validation_data[2] is not None:
                raise NotImplementedError("validation sample weights are not supported")
            val_ids = self._ids(validation_data[0])
            val = (val_ids, self._targets(validation_data[1], val_ids.shape[1], "y_val"))
        elif validation_split:
            if not 0.0 < validation_split < 1.0:
                raise ValueError(f"validation_split must be in [0, 1), got {validation_split!r}")
            split_at = int(math.floor(n * (1.0 - validation_split)))
            if split_at == 0 or split_at == n:
                raise ValueError(f"Training data contains {n} samples, which is not sufficient "
                                 "to split it into a validation and training set as specified "
                                 f"by `validation_split={validation_split}`.")
            val = (np.ascontiguousarray(ids[:, split_at:]), targets[split_at:])
            ids, targets, n = np.ascontiguousarray(ids[:, :split_at]), targets[:split_at], split_at
        if n == 0:
            raise ValueError("fit: x and y hold no samples")

        steps = -(-n // batch_size)
        history = callbacks_module.History()
        cbs = list(callbacks or []) + [history]
        params = {"verbose": verbose, "epochs": epochs, "steps": steps}
        for cb in cbs:
            if not isinstance(cb, callbacks_module.Callback):
                raise TypeError(f"callbacks must be mf.keras.callbacks.Callback instances, got "
                                f"{type(cb).__name__}")
            cb.set_model(self)
            cb.set_params(params)
        batch_hooks = any(cb._wants_batches() for cb in cbs)
        show = 1 if verbose == "auto" else verbose
        self._ensure_bound()
        opt = self.optimizer
        ops, groups, out_sigmoid = self._train_plan(self.loss, opt)
        s1, s2, s3 = opt._slots_for(self._flat.size)
        grad = np.zeros_like(self._flat)
        gsq = np.zeros(self._flat.size if groups[:, 6].any() else 0, dtype=np.float32)
        mask = np.zeros(self._mask_rows, dtype=np.uint8)
        last = np.zeros(self._mask_rows, dtype=np.int64)
        # A lazy update pays a pass over every row per call of the kernel: not worth it when a
        # callback sees every batch.
        lazy = opt._lazy() and not batch_hooks
        acts = np.zeros((self._width, min(batch_size, n)), dtype=np.float32)
        dacts = np.zeros_like(acts)
        iterations = np.array([opt.iterations], dtype=np.int64)
        delta = getattr(self.loss, "delta", 0.0)
        rng = backend.child_generator()
        # Each epoch's samples are copied in shuffled order, so that the kernels read the
        # ids and targets of a batch contiguously.
        in_order = np.arange(n)
        epoch_ids, epoch_targets = (np.empty_like(ids), np.empty_like(targets)) if shuffle \
            else (ids, targets)
        self.stop_training = False
        for cb in cbs:
            cb.on_train_begin(None)
        for epoch in range(initial_epoch, epochs):
            for cb in cbs:
                cb.on_epoch_begin(epoch, None)
            if show and epochs > 1:
                print(f"Epoch {epoch + 1}/{epochs}")
            bar = Progbar(steps, verbose=show) if show else None
            if shuffle:
                order = rng.permutation(n)
                np.take(ids, order, axis=1, out=epoch_ids)
                np.take(targets, order, axis=0, out=epoch_targets)
            stats = np.zeros((steps, 4))
            hyper = opt._hyper()
            chunk = 1 if batch_hooks else (4 if show == 1 and _dynamic_display() else steps)
            step = 0
            while step < steps:
                hi = min(steps, step + chunk)
                if batch_hooks:
                    for cb in cbs:
                        cb.on_train_batch_begin(step, None)
                started = time.perf_counter()
                with backend.kernel_threads():
                    kg.train_steps(ops, self._op_inputs, groups, self._reg, self._flat, grad,
                                   gsq, s1, s2, s3, mask, last, lazy, opt._code, hyper,
                                   iterations, epoch_ids, epoch_targets, in_order,
                                   batch_size, step, hi, self.loss._code, delta,
                                   self._out_off, self._out_w, out_sigmoid, acts, dacts, stats)
                opt.iterations = int(iterations[0])
                bad = ~np.isfinite(stats[step:hi, 1])
                if bad.any():
                    raise FloatingPointError(
                        f"Training diverged: the loss of batch {step + int(np.argmax(bad))} of "
                        f"epoch {epoch + 1} is {stats[step + int(np.argmax(bad)), 1]}. Lower the "
                        "learning rate, scale the targets or add regularization.")
                if not batch_hooks and show == 1:
                    elapsed = time.perf_counter() - started
                    chunk = max(1, int(0.1 * (hi - step) / max(elapsed, 1e-6)))
                step = hi
                if batch_hooks or show == 1:
                    logs = self._train_logs(stats[:hi])
                    if batch_hooks:
                        for cb in cbs:
                            cb.on_train_batch_end(hi - 1, logs)
                    if show == 1:
                        bar.update(hi, list(logs.items()))
            logs = self._train_logs(stats)
            if val is not None and (epoch + 1) % validation_freq == 0:
                results = self._evaluate(*val)
                logs.update(sorted(("val_" + k, v) for k, v in zip(self.metrics_names, results)))
            for cb in cbs:
                cb.on_epoch_end(epoch, logs)
            if show:
                bar.update(steps, list(logs.items()), finalize=True)
            if self.stop_training:
                break
        for cb in cbs:
            cb.on_train_end(None)
        self.history = history
        return history

    def _train_logs(self, stats):
        """Epoch logs so far; keys in Keras 3's order (sorted by name)."""
        count = stats[:, 0].sum()
        logs = {"loss": float((stats[:, 0] * stats[:, 1]).sum() / count)}
        for m in self._metrics:
            logs[m.name] = float(m.result(stats[:, 2].sum(), stats[:, 3].sum(),
                                          count * self._out_w))
        return dict(sorted(logs.items()))

    # -- evaluate / predict ---------------------------------------------------
    def _evaluate(self, ids, targets):
        self._ensure_bound()
        n = ids.shape[1]
        ops, _, out_sigmoid = self._train_plan(self.loss)
        kernel = kg.evaluate_parallel if n >= _PARALLEL_MIN_ROWS else kg.evaluate
        with backend.kernel_threads():
            sums = kernel(ops, self._op_inputs, self._flat, ids, targets, n, self._width,
                          self.loss._code, getattr(self.loss, "delta", 0.0), self._out_off,
                          self._out_w, out_sigmoid, _PREDICT_CHUNK)
        results = [float(sums[0] / n + self._penalty())]
        results += [float(m.result(sums[1], sums[2], n * self._out_w)) for m in self._metrics]
        return results

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None,
                 steps=None, callbacks=None, return_dict=False):
        """Loss (plus metrics, as a list) of the model on ``(x, y)``, computed exactly.

        Examples
        --------
        >>> import numpy as np
        >>> from mf.keras.layers import Input, Embedding, Flatten
        >>> ids = Input(shape=(1,))
        >>> model = Model(ids, Flatten()(Embedding(10, 1, embeddings_initializer="zeros")(ids)))
        >>> model.compile(loss="mse", metrics=["mae"])
        >>> model.evaluate(np.array([0, 1]), np.array([1.0, 3.0]), verbose=0)  # predictions are 0
        [5.0, 2.0]
        >>> model.evaluate(np.array([0, 1]), np.array([1.0, 3.0]), verbose=0, return_dict=True)
        {'loss': 5.0, 'mae': 2.0}
        """
        if not self.compiled:
            raise ValueError("You must call `compile()` before using the model.")
        if self.loss is None:
            raise ValueError("The model was compiled without a loss; pass loss=... to compile()")
        if sample_weight is not None or steps is not None or callbacks is not None:
            raise NotImplementedError("evaluate: sample_weight, steps and callbacks are not "
                                      "supported")
        verbose = _check_verbose(verbose)
        batch_size = 32 if batch_size is None else _positive_int("batch_size", batch_size)
        ids = self._ids(x)
        n = ids.shape[1]
        if n == 0:
            raise ValueError("evaluate: x and y hold no samples")
        bar = Progbar(-(-n // batch_size), verbose=1) if verbose else None
        results = self._evaluate(ids, self._targets(y, n))
        if verbose:
            bar.update(bar.target, list(zip(self.metrics_names, results)), finalize=True)
        if return_dict:
            return dict(zip(self.metrics_names, results))
        return results[0] if len(results) == 1 else results

    def predict(self, x, batch_size=None, verbose=0, steps=None, callbacks=None):
        """Model outputs for ``x`` (a list of id arrays): float32, shape ``(n, 1)`` for one output.

        Ids may be given with shape ``(n,)`` or ``(n, 1)``, as integers or
        integral floats.  ``batch_size`` only sets the step count shown by the
        progress bar.

        Examples
        --------
        >>> import numpy as np
        >>> from mf.keras.layers import Input, Embedding, Flatten
        >>> ids = Input(shape=(1,))
        >>> model = Model(ids, Flatten()(Embedding(3, 1, weights=[np.array([[0.5], [1.0], [2.0]])])(ids)))
        >>> model.predict(np.array([2, 0])).tolist(), model.predict(np.array([[2.0], [0.0]])).tolist()
        ([[2.0], [0.5]], [[2.0], [0.5]])
        """
        if steps is not None or callbacks is not None:
            raise NotImplementedError("predict: steps and callbacks are not supported")
        verbose = _check_verbose(verbose)
        batch_size = 32 if batch_size is None else _positive_int("batch_size", batch_size)
        ids = self._ids(x)
        n = ids.shape[1]
        bar = Progbar(max(1, -(-n // batch_size)), verbose=1) if verbose else None
        self._ensure_bound()
        result = np.empty((n, self._out_w), dtype=np.float32)
        if n >= _PARALLEL_MIN_ROWS:
            with backend.kernel_threads():
                kg.predict_parallel(self._ops, self._op_inputs, self._flat, ids, n, self._width,
                                    self._out_off, self._out_w, False, _PREDICT_CHUNK, result)
        else:
            kg.predict(self._ops, self._op_inputs, self._flat, ids, n, self._width,
                       self._out_off, self._out_w, False, _PREDICT_CHUNK, result)
        if verbose:
            bar.update(bar.target, finalize=True)
        return result.reshape((n,) + self.outputs[0].shape[1:])

    def predict_on_batch(self, x):
        """Same as :meth:`predict` (Keras's single-batch variant).

        Examples
        --------
        >>> import numpy as np
        >>> from mf.keras.layers import Input, Embedding, Flatten
        >>> ids = Input(shape=(1,))
        >>> model = Model(ids, Flatten()(Embedding(3, 1, weights=[np.array([[0.5], [1.0], [2.0]])])(ids)))
        >>> model.predict_on_batch(np.array([1, 2]))
        array([[1.],
               [2.]], dtype=float32)
        """
        return self.predict(x)

    def __call__(self, inputs):
        if any(isinstance(t, layers_module.KerasTensor) for t in
               (inputs if isinstance(inputs, (list, tuple)) else [inputs])):
            raise NotImplementedError("Calling a Model on symbolic tensors (nesting models) is "
                                      "not supported")
        return self.predict(inputs)

    # -- summary --------------------------------------------------------------
    def summary(self, line_length=None, positions=None, print_fn=None, expand_nested=False,
                show_trainable=False, layer_range=None):
        """Print Keras's summary table (``expand_nested`` has no effect: there is no nesting).

        Without ``line_length`` the table is as wide as Keras makes it, at
        most the terminal's width.

        Examples
        --------
        >>> from mf.keras import backend
        >>> backend.clear_session()
        >>> from mf.keras.layers import Input, Embedding, Flatten, Dense
        >>> ids = Input(shape=(1,))
        >>> model = Model(ids, Dense(1)(Flatten()(Embedding(10, 4)(ids))))
        >>> model.summary(line_length=60)
        Model: "functional"
        ┏━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━┓
        ┃ Layer (type)             ┃ Output Shape      ┃   Param # ┃
        ┡━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━┩
        │ input_layer (InputLayer) │ (None, 1)         │         0 │
        ├──────────────────────────┼───────────────────┼───────────┤
        │ embedding (Embedding)    │ (None, 1, 4)      │        40 │
        ├──────────────────────────┼───────────────────┼───────────┤
        │ flatten (Flatten)        │ (None, 4)         │         0 │
        ├──────────────────────────┼───────────────────┼───────────┤
        │ dense (Dense)            │ (None, 1)         │         5 │
        └──────────────────────────┴───────────────────┴───────────┘
         Total params: 45 (180.00 B)
         Trainable params: 45 (180.00 B)
         Non-trainable params: 0 (0.00 B)
        """
        text = _summary.render(self, line_length, positions, show_trainable, layer_range)
        if print_fn is not None:
            print_fn(text)
        else:
            sys.stdout.write(text)
            sys.stdout.flush()

    def __repr__(self):
        return f"<Model name={self.name}, built=True>"

    # -- persistence ----------------------------------------------------------
    def _config(self):
        layer_configs = []
        for layer in self.layers:
            layer_configs.append({"class_name": type(layer).__name__,
                                  "config": layer.get_config()})
        nodes = []
        index = {}
        for node in self._order:
            index[node] = len([m for m in index if m.layer is node.layer])
            inbound = []
            for t in node.input_tensors:
                source, node_index, _ = t._keras_history
                inbound.append([source.name, index[source._inbound_nodes[node_index]]])
            nodes.append({"layer": node.layer.name, "inbound": inbound})

        def ref(t):
            layer, node_index, _ = t._keras_history
            return [layer.name, index[layer._inbound_nodes[node_index]]]

        config = {"format": _FORMAT, "version": 1, "name": self.name,
                  "trainable": self.trainable, "layers": layer_configs, "nodes": nodes,
                  "inputs": [ref(t) for t in self.inputs], "output": ref(self.outputs[0]),
                  "compile": None}
        if self.compiled:
            config["compile"] = {
                "optimizer": optimizers_module.serialize(self.optimizer),
                "iterations": self.optimizer.iterations,
                "loss": None if self.loss is None else losses_module.serialize(self.loss),
                "metrics": [metrics_module.serialize(m) for m in self._metrics]}
        return config

    def save(self, filepath):
        """Write the graph, weights, compile settings and optimizer state to ``filepath``.

        The file is a numpy ``.npz`` archive (no pickle) holding a JSON
        description of the graph and one array per weight; it is written to a
        temporary file first and moved into place, so an interrupted save never
        leaves a truncated file.  Read it back with :func:`load_model`.

        Examples
        --------
        >>> import os, tempfile
        >>> import numpy as np
        >>> from mf.keras.layers import Input, Embedding, Flatten, Dense
        >>> ids = Input(shape=(1,))
        >>> model = Model(ids, Dense(1)(Flatten()(Embedding(10, 4)(ids))))
        >>> model.compile(optimizer="adam", loss="mse")
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     model.save(os.path.join(folder, "model.mfk"))
        ...     restored = load_model(os.path.join(folder, "model.mfk"))
        >>> restored.optimizer, np.array_equal(restored.predict(np.arange(10)), model.predict(np.arange(10)))
        (Adam(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-07), True)
        """
        self._ensure_bound()
        arrays = {f"weight_{k}": v.value for k, v in enumerate(self._vars)}
        if self.compiled and self.optimizer._slots is not None:
            for k, slot in enumerate(self.optimizer._slots):
                arrays[f"optimizer_{k}"] = slot
        _write_npz(filepath, self._config(), arrays)

    def save_weights(self, filepath):
        """Write only the weights (in :meth:`get_weights` order) to ``filepath``.

        Examples
        --------
        >>> import os, tempfile
        >>> import numpy as np
        >>> from mf.keras.layers import Input, Embedding, Flatten, Dense
        >>> ids = Input(shape=(1,))
        >>> model = Model(ids, Dense(1)(Flatten()(Embedding(10, 4)(ids))))
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     model.save_weights(os.path.join(folder, "model.weights.npz"))
        ...     print(sorted(os.listdir(folder)))
        ['model.weights.npz']
        """
        config = {"format": _WEIGHTS_FORMAT, "version": 1,
                  "paths": [v.path for v in self._vars]}
        _write_npz(filepath, config, {f"weight_{k}": v.value for k, v in enumerate(self._vars)})

    def load_weights(self, filepath):
        """Load weights written by :meth:`save_weights` or :meth:`save` into this model.

        Examples
        --------
        >>> import os, tempfile
        >>> import numpy as np
        >>> from mf.keras.layers import Input, Embedding, Flatten, Dense
        >>> ids = Input(shape=(1,))
        >>> model = Model(ids, Dense(1)(Flatten()(Embedding(10, 4)(ids))))
        >>> twin = Model(ids, Dense(1)(Flatten()(Embedding(10, 4)(ids))))  # same shapes, other weights
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     model.save_weights(os.path.join(folder, "model.weights.npz"))
        ...     twin.load_weights(os.path.join(folder, "model.weights.npz"))
        >>> np.array_equal(twin.predict(np.arange(10)), model.predict(np.arange(10)))
        True
        """
        config, arrays = _read_npz(filepath, (_WEIGHTS_FORMAT, _FORMAT))
        n = sum(1 for k in arrays if k.startswith("weight_"))
        self.set_weights([arrays[f"weight_{k}"] for k in range(n)])


def _positive_int(name, value, allow_zero=False):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0 \
            or (value == 0 and not allow_zero):
        raise ValueError(f"{name} must be a {'non-negative' if allow_zero else 'positive'} "
                         f"integer, got {value!r}")
    return int(value)


def _check_verbose(verbose):
    if verbose not in (0, 1, 2, "auto") or isinstance(verbose, bool):
        raise ValueError(f"verbose must be 0, 1, 2 or 'auto', got {verbose!r}")
    return verbose


def _write_npz(filepath, config, arrays):
    payload = {"__config__": np.frombuffer(json.dumps(config).encode("utf-8"), dtype=np.uint8)}
    payload.update(arrays)
    write_npz_atomic(filepath, payload)


def _read_npz(filepath, formats):
    path = os.fspath(filepath)
    with open(path, "rb") as f:
        data = f.read()
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            arrays = {k: archive[k] for k in archive.files}
        config = json.loads(arrays.pop("__config__").tobytes().decode("utf-8"))
    except (ValueError, KeyError, OSError) as exc:
        raise ValueError(f"{path} is not a file written by mf.keras ({exc})") from None
    if config.get("format") not in formats:
        raise ValueError(f"{path} holds {config.get('format')!r}, expected one of {formats}")
    return config, arrays


def load_model(filepath, compile=True):
    """Rebuild a model written by :meth:`Model.save`, with its weights and, when
    ``compile`` is true, its optimizer, loss, metrics and optimizer state.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from mf.keras.layers import Input, Embedding, Flatten
    >>> ids = Input(shape=(1,))
    >>> model = Model(ids, Flatten()(Embedding(3, 1, weights=[np.array([[0.5], [1.0], [2.0]])])(ids)))
    >>> model.compile(optimizer="sgd", loss="mae", metrics=["mse"])
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     model.save(os.path.join(folder, "model.mfk"))
    ...     restored = load_model(os.path.join(folder, "model.mfk"))
    >>> restored.predict(np.array([2])).tolist(), restored.loss, restored.metrics_names
    ([[2.0]], MeanAbsoluteError(), ['loss', 'mse'])
    """
    config, arrays = _read_npz(filepath, (_FORMAT,))
    layers = {}
    for entry in config["layers"]:
        cls = _LAYER_CLASSES[entry["class_name"]]
        layers[entry["config"]["name"]] = cls.from_config(entry["config"])
    nodes = {}
    for entry in config["nodes"]:
        layer = layers[entry["layer"]]
        key = (entry["layer"], sum(1 for k in nodes if k[0] == entry["layer"]))
        if isinstance(layer, layers_module.InputLayer):
            nodes[key] = layer.output
            continue
        ins = [nodes[tuple(ref)] for ref in entry["inbound"]]
        nodes[key] = layer(ins if isinstance(layer, _LIST_INPUT) else ins[0])
    model = Model([nodes[tuple(ref)] for ref in config["inputs"]], nodes[tuple(config["output"])],
                  name=config["name"], trainable=config["trainable"])
    model.set_weights([arrays[f"weight_{k}"] for k in range(len(model.weights))])
    settings = config["compile"]
    if compile and settings is not None:
        model.compile(optimizer=optimizers_module.deserialize(settings["optimizer"]),
                      loss=None if settings["loss"] is None
                      else losses_module.deserialize(settings["loss"]),
                      metrics=[metrics_module.deserialize(m) for m in settings["metrics"]])
        model.optimizer.iterations = settings["iterations"]
        if "optimizer_0" in arrays:
            model.optimizer._slots = [arrays[f"optimizer_{k}"].astype(np.float32)
                                      for k in range(3)]
    return model


def __getattr__(name):
    if name == "Sequential":
        raise NotImplementedError("mf.keras has no Sequential model; it supports functional "
                                  "models only: build Model(inputs=..., outputs=...)")
    raise AttributeError(f"module 'mf.keras.models' has no attribute {name!r}")
