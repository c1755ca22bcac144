"""Keras layers for recommendation graphs over integer ids.

Supported: ``Input``, ``Embedding``, ``Flatten``, ``Dot``, ``Concatenate``,
``Add``, ``Multiply`` and ``Dense`` (activation ``None``/``'linear'``,
``'relu'``, ``'sigmoid'``, ``'tanh'``).  Inputs carry integer ids and may only
feed ``Embedding`` layers.  Any other Keras layer name raises
``NotImplementedError`` on import; an unsupported use of a supported layer
raises ``NotImplementedError`` naming the layer when it is called.

Layers are called on symbolic tensors to build a graph, exactly as in Keras;
:class:`mf.keras.models.Model` compiles that graph into a plan for the numba
kernels.

Examples
--------
>>> from mf.keras import backend
>>> from mf.keras.layers import Input, Embedding, Flatten, Dot
>>> backend.clear_session()
>>> u = Input(shape=(1,))
>>> e = Embedding(10, 4)(u)
>>> e
<KerasTensor shape=(None, 1, 4), dtype=float32, name=embedding>
>>> Dot(axes=1)([Flatten()(e), Flatten()(e)]).shape
(None, 1)
"""

import re
import warnings

import numpy as np

from . import backend, initializers, regularizers

__all__ = [
    "Input", "InputLayer", "Layer", "Embedding", "Flatten", "Dot", "Concatenate", "Add",
    "Multiply", "Dense", "KerasTensor", "Variable",
]

ACTIVATIONS = ("linear", "relu", "sigmoid", "tanh")


def _snake_case(name):
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


class Variable:
    """A weight of a layer: a float32 array with a Keras-style ``path``.

    ``numpy()`` returns a copy; ``assign(value)`` writes in place.

    Examples
    --------
    >>> import numpy as np
    >>> emb = Embedding(3, 2, embeddings_initializer="zeros", name="items")
    >>> _ = emb(Input(shape=(1,)))
    >>> var = emb.embeddings
    >>> var.path, var.shape, var.trainable
    ('items/embeddings', (3, 2), True)
    >>> var.assign(np.ones((3, 2)))
    >>> float(var.numpy().sum())
    6.0
    """

    def __init__(self, value, name, layer, trainable=True, regularizer=None):
        self._value = np.ascontiguousarray(value, dtype=np.float32)
        self._bound = None  # the flat parameter buffer this array is a view of
        self.name = name
        self._layer = layer
        self._trainable = trainable
        self.regularizer = regularizer

    @property
    def path(self):
        return f"{self._layer.name}/{self.name}"

    @property
    def trainable(self):
        return self._trainable and self._layer.trainable

    @property
    def shape(self):
        return self._value.shape

    @property
    def dtype(self):
        return "float32"

    @property
    def value(self):
        return self._value

    def numpy(self):
        return self._value.copy()

    def assign(self, value):
        value = np.asarray(value)
        if value.shape != self._value.shape:
            raise ValueError(f"Variable {self.path} has shape {self._value.shape}; cannot assign "
                             f"a value of shape {value.shape}")
        if not np.all(np.isfinite(value)):
            raise ValueError(f"Variable {self.path}: the assigned value contains NaN or inf")
        self._value[...] = value

    def __array__(self, dtype=None, copy=None):
        return self._value.astype(dtype) if dtype is not None else self._value.copy()

    def __repr__(self):
        return f"<Variable path={self.path}, shape={self.shape}, dtype=float32>"


def assign_weights(variables, weights, owner):
    """``set_weights`` of a layer or model: check every array against ``variables``, then assign them all."""
    weights = list(weights)
    if len(weights) != len(variables):
        raise ValueError(f"{owner} has {len(variables)} weight arrays "
                         f"({', '.join(v.path for v in variables)}); got {len(weights)}")
    arrays = []
    for var, w in zip(variables, weights):
        w = np.asarray(w)
        if w.shape != var.shape:
            raise ValueError(f"{owner}: weight {var.path} has shape {var.shape}; got an array of shape {w.shape}")
        arrays.append(w)
    for var, w in zip(variables, arrays):
        var.assign(w)


class KerasTensor:
    """A symbolic tensor: the output of a layer in a graph under construction.

    Examples
    --------
    >>> t = Input(shape=(1,), name="user")
    >>> t.shape, t.ndim, t.name
    ((None, 1), 2, 'user')
    >>> Flatten()(Embedding(10, 4)(t)).shape
    (None, 4)
    """

    def __init__(self, shape, layer, node_index, is_ids=False):
        self.shape = tuple(shape)
        self._keras_history = (layer, node_index, 0)
        self._is_ids = is_ids

    @property
    def dtype(self):
        return "float32"

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def name(self):
        return self._keras_history[0].name

    def __repr__(self):
        return f"<KerasTensor shape={self.shape}, dtype=float32, name={self.name}>"


class Node:
    """One call of a layer: its input tensors and its output tensor."""

    def __init__(self, layer, inputs, output_shape, is_ids=False):
        self.layer = layer
        self.input_tensors = list(inputs)
        self.index = len(layer._inbound_nodes)
        layer._inbound_nodes.append(self)
        self.output = KerasTensor(output_shape, layer, self.index, is_ids)

    @property
    def parent_nodes(self):
        out = []
        for t in self.input_tensors:
            layer, index, _ = t._keras_history
            out.append(layer._inbound_nodes[index])
        return out


class Layer:
    """Base class of the supported layers.

    Examples
    --------
    >>> dense = Dense(2, name="scores")
    >>> isinstance(dense, Layer), dense.name, dense.built, dense.weights
    (True, 'scores', False, [])
    >>> _ = dense(Flatten()(Embedding(5, 3)(Input(shape=(1,)))))
    >>> [v.path for v in dense.weights]
    ['scores/kernel', 'scores/bias']
    """

    def __init__(self, name=None, trainable=True, dtype=None, **kwargs):
        if kwargs:
            raise TypeError(f"Unrecognized keyword arguments passed to {type(self).__name__}: "
                            f"{kwargs}")
        if dtype not in (None, "float32", np.float32):
            raise NotImplementedError(
                f"{type(self).__name__}: mf.keras computes in float32 only; got dtype={dtype!r}")
        if name is not None and (not isinstance(name, str) or not name):
            raise ValueError(f"{type(self).__name__}: name must be a non-empty string, "
                             f"got {name!r}")
        if name is None:
            name = backend.unique_name(_snake_case(type(self).__name__))
        self.name = name
        self.trainable = bool(trainable)
        self.built = False
        self._inbound_nodes = []
        self._weights = []

    def _describe(self):
        return f"{type(self).__name__} layer '{self.name}'"

    def _unsupported(self, why):
        return NotImplementedError(f"{self._describe()}: {why}")

    # -- graph construction -------------------------------------------------
    def __call__(self, inputs):
        tensors = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        for t in tensors:
            if not isinstance(t, KerasTensor):
                raise self._unsupported(
                    "mf.keras layers are called on symbolic tensors from mf.keras.layers.Input "
                    f"to build a model, not on {type(t).__name__} values; build a Model and "
                    "use model.predict() to compute outputs")
        shape = self._output_shape(tensors, isinstance(inputs, (list, tuple)))
        if not self.built:
            self._build(tensors)
            self.built = True
        return Node(self, tensors, shape).output

    def _single(self, tensors, as_list):
        if as_list or len(tensors) != 1:
            raise ValueError(f"{self._describe()} takes one input tensor, got {len(tensors)}")
        t = tensors[0]
        if t._is_ids:
            raise self._unsupported(
                f"it is applied to the integer ids of input '{t.name}'; in mf.keras only an "
                "Embedding layer may consume an Input (embed the ids first)")
        return t

    def _merge_inputs(self, tensors, as_list):
        if not as_list or len(tensors) < 2:
            raise ValueError(f"{self._describe()} should be called on a list of at least 2 "
                             f"tensors, got {len(tensors)}")
        for t in tensors:
            if t._is_ids:
                raise self._unsupported(
                    f"input '{t.name}' carries integer ids; in mf.keras only an Embedding layer "
                    "may consume an Input")
        return tensors

    def _build(self, tensors):
        """Create the weights for the given input tensors (layers without weights: nothing)."""

    def _add_weight(self, name, shape, initializer, regularizer=None):
        value = initializer(shape)
        var = Variable(value, name, self, regularizer=regularizer)
        self._weights.append(var)
        return var

    # -- weights ------------------------------------------------------------
    @property
    def weights(self):
        return list(self._weights)

    @property
    def trainable_weights(self):
        return [v for v in self._weights if v.trainable]

    @property
    def non_trainable_weights(self):
        return [v for v in self._weights if not v.trainable]

    def get_weights(self):
        """Copies of the weight arrays, in Keras order.

        Examples
        --------
        >>> import numpy as np
        >>> emb = Embedding(3, 2, weights=[np.arange(6.0).reshape(3, 2)])
        >>> emb.get_weights()[0].tolist()
        [[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]]
        """
        return [v.numpy() for v in self._weights]

    def set_weights(self, weights):
        """Overwrite the weights in place from a list of arrays of the same shapes.

        Examples
        --------
        >>> import numpy as np
        >>> emb = Embedding(3, 2)
        >>> _ = emb(Input(shape=(1,)))
        >>> emb.set_weights([np.ones((3, 2))])
        >>> emb.embeddings.numpy().tolist()
        [[1.0, 1.0], [1.0, 1.0], [1.0, 1.0]]
        """
        assign_weights(self._weights, weights, self._describe())

    def count_params(self):
        """Number of weights (scalars) of the layer, once it is built.

        Examples
        --------
        >>> dense = Dense(4)
        >>> _ = dense(Flatten()(Embedding(10, 3)(Input(shape=(1,)))))
        >>> dense.count_params()  # 3 x 4 kernel and 4 biases
        16
        """
        return int(sum(int(np.prod(v.shape)) for v in self._weights))

    def get_config(self):
        return {"name": self.name, "trainable": self.trainable}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


class InputLayer(Layer):
    """The layer behind :func:`Input`; it holds one integer id per sample.

    Examples
    --------
    >>> layer = InputLayer(shape=(1,), name="item")
    >>> layer.output.shape, layer.get_config()
    ((None, 1), {'name': 'item', 'shape': [1]})
    """

    def __init__(self, shape=(1,), name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        shape = tuple(shape)
        if shape not in ((1,), ()):
            raise NotImplementedError(
                f"Input '{self.name}': mf.keras inputs hold one integer id per sample, "
                f"shape=(1,) or shape=(); got shape={shape}")
        self.input_shape = shape
        self.built = True
        self.output = Node(self, [], (None,) + shape, is_ids=True).output

    def _output_shape(self, tensors, as_list):
        raise self._unsupported("an InputLayer cannot be called")

    def get_config(self):
        return {"name": self.name, "shape": list(self.input_shape)}


def Input(shape=None, batch_size=None, dtype=None, name=None, **kwargs):
    """A symbolic input holding one integer id per sample: ``Input(shape=(1,))``.

    Keras's ``dtype`` argument is accepted and has no effect: ids may be
    given as integers or as integral floats.

    Examples
    --------
    >>> Input(shape=(1,), name="user")
    <KerasTensor shape=(None, 1), dtype=float32, name=user>
    >>> Input(shape=()).shape
    (None,)
    """
    if shape is None:
        raise ValueError("Input: pass shape=(1,) (one integer id per sample)")
    if batch_size is not None:
        raise NotImplementedError("Input: a fixed batch_size is not supported; leave it None")
    if kwargs:
        raise TypeError(f"Unrecognized keyword arguments passed to Input: {kwargs}")
    if isinstance(shape, int):
        shape = (shape,)
    return InputLayer(shape=shape, name=name).output


class Embedding(Layer):
    """Rows of an ``(input_dim, output_dim)`` table looked up by integer id.

    Parameters follow Keras: ``embeddings_initializer='uniform'``
    (uniform on [-0.05, 0.05)), ``embeddings_regularizer=None``; ``weights``
    gives the initial table.  Called on ids of shape ``(None, 1)`` it returns
    ``(None, 1, output_dim)``; on ``(None,)``, ``(None, output_dim)``.

    Examples
    --------
    >>> import numpy as np
    >>> emb = Embedding(3, 2, weights=[np.arange(6.0).reshape(3, 2)])
    >>> emb(Input(shape=(1,))).shape, emb(Input(shape=())).shape
    ((None, 1, 2), (None, 2))
    >>> emb.embeddings.numpy()[2].tolist()
    [4.0, 5.0]
    """

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform",
                 embeddings_regularizer=None, embeddings_constraint=None, mask_zero=False,
                 weights=None, lora_rank=None, **kwargs):
        if kwargs.pop("input_length", None) is not None:
            warnings.warn("Argument `input_length` is deprecated. Just remove it.", stacklevel=2)
        super().__init__(**kwargs)
        for arg, value in (("input_dim", input_dim), ("output_dim", output_dim)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
                raise ValueError(f"`{arg}` must be a positive integer. Received: {arg}={value!r}")
        if embeddings_constraint is not None:
            raise self._unsupported("embeddings_constraint is not supported")
        if mask_zero:
            raise self._unsupported("mask_zero=True is not supported")
        if lora_rank is not None:
            raise self._unsupported("lora_rank is not supported")
        self.input_dim = int(input_dim)
        self.output_dim = int(output_dim)
        self.embeddings_initializer = initializers.get(embeddings_initializer,
                                                       "embeddings_initializer")
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer,
                                                       "embeddings_regularizer")
        self.embeddings = None
        if weights is not None:
            self._build([])
            self.built = True
            self.set_weights(weights)

    def _output_shape(self, tensors, as_list):
        if as_list or len(tensors) != 1:
            raise ValueError(f"{self._describe()} takes one input tensor, got {len(tensors)}")
        t = tensors[0]
        if not t._is_ids:
            raise self._unsupported(
                f"its input '{t.name}' is not an Input of integer ids; mf.keras embeds ids "
                "straight from an Input(shape=(1,))")
        return t.shape + (self.output_dim,)

    def _build(self, tensors):
        self.embeddings = self._add_weight("embeddings", (self.input_dim, self.output_dim),
                                           self.embeddings_initializer,
                                           self.embeddings_regularizer)

    def get_config(self):
        return {**super().get_config(), "input_dim": self.input_dim,
                "output_dim": self.output_dim,
                "embeddings_initializer": initializers.serialize(self.embeddings_initializer),
                "embeddings_regularizer": regularizers.serialize(self.embeddings_regularizer)}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["embeddings_initializer"] = initializers.deserialize(
            config["embeddings_initializer"])
        config["embeddings_regularizer"] = regularizers.deserialize(
            config["embeddings_regularizer"])
        return cls(**config)


def _row_shape(layer, t):
    """Check that ``t`` is ``(None, d)`` or ``(None, 1, ..., 1, d)``: a row of ``d`` numbers."""
    if len(t.shape) < 2 or any(d != 1 for d in t.shape[1:-1]):
        raise layer._unsupported(f"input '{t.name}' has shape {t.shape}; mf.keras supports "
                                 "tensors of shape (None, d) or (None, 1, d)")
    return t.shape[-1]


class Flatten(Layer):
    """Collapse all but the batch axis: ``(None, 1, d)`` -> ``(None, d)``.

    Examples
    --------
    >>> Flatten()(Embedding(10, 4)(Input(shape=(1,)))).shape
    (None, 4)
    """

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = data_format

    def _output_shape(self, tensors, as_list):
        t = self._single(tensors, as_list)
        return (None, int(np.prod(t.shape[1:])))

    def _build(self, tensors):
        _row_shape(self, tensors[0])

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}


class Dot(Layer):
    """Dot product of two tensors along ``axes`` (the feature axis), optionally of
    their l2-normalised versions (cosine similarity) when ``normalize=True``.

    Examples
    --------
    >>> import numpy as np
    >>> from mf.keras.models import Model
    >>> x = Input(shape=(1,))
    >>> a = Flatten()(Embedding(2, 2, weights=[np.array([[1.0, 2.0], [3.0, 4.0]])])(x))
    >>> b = Flatten()(Embedding(2, 2, weights=[np.array([[1.0, 0.0], [0.5, 2.0]])])(x))
    >>> Model(x, Dot(axes=1)([a, b])).predict(np.array([0, 1])).tolist()
    [[1.0], [9.5]]
    """

    def __init__(self, axes, normalize=False, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axes, (list, tuple)):
            if len(axes) != 2:
                raise ValueError(f"Invalid format for argument `axes`: it should contain two "
                                 f"elements. Received: axes={axes}")
            axes = tuple(int(a) for a in axes)
        elif isinstance(axes, (int, np.integer)):
            axes = int(axes)
        else:
            raise TypeError(f"Invalid type for argument `axes`: it should be a list or an int. "
                            f"Received: axes={axes}")
        self.axes = axes
        self.normalize = bool(normalize)

    def _output_shape(self, tensors, as_list):
        tensors = self._merge_inputs(tensors, as_list)
        if len(tensors) != 2:
            raise ValueError(f"{self._describe()} should be called on exactly 2 inputs, "
                             f"got {len(tensors)}")
        a, b = tensors
        axes = self.axes if isinstance(self.axes, tuple) else (self.axes, self.axes)
        for t, ax in zip(tensors, axes):
            _row_shape(self, t)
            if ax % len(t.shape) != len(t.shape) - 1:
                raise self._unsupported(
                    f"axes={self.axes} does not contract the last axis of input '{t.name}' of "
                    f"shape {t.shape}; use the feature axis (axes=1 for (None, d) tensors, "
                    "axes=2 for (None, 1, d))")
        if a.shape != b.shape:
            raise ValueError(f"{self._describe()}: incompatible input shapes {a.shape} and "
                             f"{b.shape}")
        return a.shape[:-1] + (1,)

    def get_config(self):
        axes = list(self.axes) if isinstance(self.axes, tuple) else self.axes
        return {**super().get_config(), "axes": axes, "normalize": self.normalize}


class Concatenate(Layer):
    """Join tensors along the feature axis (``axis=-1``).

    Examples
    --------
    >>> import numpy as np
    >>> from mf.keras.models import Model
    >>> x = Input(shape=(1,))
    >>> a = Flatten()(Embedding(2, 2, weights=[np.array([[1.0, 2.0], [3.0, 4.0]])])(x))
    >>> b = Flatten()(Embedding(2, 2, weights=[np.array([[1.0, 0.0], [0.5, 2.0]])])(x))
    >>> Model(x, Concatenate()([a, b])).predict(np.array([0, 1])).tolist()
    [[1.0, 2.0, 1.0, 0.0], [3.0, 4.0, 0.5, 2.0]]
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = int(axis)

    def _output_shape(self, tensors, as_list):
        tensors = self._merge_inputs(tensors, as_list)
        lead = tensors[0].shape[:-1]
        for t in tensors:
            _row_shape(self, t)
            if self.axis % len(t.shape) != len(t.shape) - 1:
                raise self._unsupported(f"axis={self.axis} is not the last axis of input "
                                        f"'{t.name}' of shape {t.shape}; use axis=-1")
            if t.shape[:-1] != lead:
                raise ValueError(f"{self._describe()} requires inputs with matching shapes "
                                 f"except for the concatenation axis; got {tensors[0].shape} "
                                 f"and {t.shape}")
        return lead + (sum(t.shape[-1] for t in tensors),)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


class _Merge(Layer):
    def _output_shape(self, tensors, as_list):
        tensors = self._merge_inputs(tensors, as_list)
        for t in tensors:
            _row_shape(self, t)
            if t.shape != tensors[0].shape:
                raise ValueError(f"{self._describe()}: inputs must have the same shape; got "
                                 f"{tensors[0].shape} and {t.shape}")
        return tensors[0].shape


class Add(_Merge):
    """Element-wise sum of tensors of the same shape (e.g. a dot product plus biases).

    Examples
    --------
    >>> import numpy as np
    >>> from mf.keras.models import Model
    >>> x = Input(shape=(1,))
    >>> a = Flatten()(Embedding(2, 2, weights=[np.array([[1.0, 2.0], [3.0, 4.0]])])(x))
    >>> b = Flatten()(Embedding(2, 2, weights=[np.array([[1.0, 0.0], [0.5, 2.0]])])(x))
    >>> Model(x, Add()([a, b])).predict(np.array([0, 1])).tolist()
    [[2.0, 2.0], [3.5, 6.0]]
    """


class Multiply(_Merge):
    """Element-wise product of tensors of the same shape (the GMF branch of NeuMF).

    Examples
    --------
    >>> import numpy as np
    >>> from mf.keras.models import Model
    >>> x = Input(shape=(1,))
    >>> a = Flatten()(Embedding(2, 2, weights=[np.array([[1.0, 2.0], [3.0, 4.0]])])(x))
    >>> b = Flatten()(Embedding(2, 2, weights=[np.array([[1.0, 0.0], [0.5, 2.0]])])(x))
    >>> Model(x, Multiply()([a, b])).predict(np.array([0, 1])).tolist()
    [[1.0, 0.0], [1.5, 8.0]]
    """


class Dense(Layer):
    """``activation(inputs @ kernel + bias)`` with a ``(in, units)`` kernel.

    Keras defaults: ``kernel_initializer='glorot_uniform'``,
    ``bias_initializer='zeros'``; ``activation`` one of ``None``/``'linear'``,
    ``'relu'``, ``'sigmoid'``, ``'tanh'``.

    Examples
    --------
    >>> import numpy as np
    >>> from mf.keras.models import Model
    >>> x = Input(shape=(1,))
    >>> a = Flatten()(Embedding(2, 2, weights=[np.array([[1.0, 2.0], [-3.0, -4.0]])])(x))
    >>> relu_sum = Dense(1, activation="relu", kernel_initializer="ones")
    >>> Model(x, relu_sum(a)).predict(np.array([0, 1])).tolist()
    [[3.0], [0.0]]
    """

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 lora_rank=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(units, bool) or not isinstance(units, (int, np.integer)) or units <= 0:
            raise ValueError("Received an invalid value for `units`, expected a positive "
                             f"integer. Received: units={units!r}")
        if activation is None:
            activation = "linear"
        if not isinstance(activation, str) or activation.lower() not in ACTIVATIONS:
            raise self._unsupported(f"activation={activation!r} is not supported; use None, "
                                    "'linear', 'relu', 'sigmoid' or 'tanh'")
        for arg, value in (("activity_regularizer", activity_regularizer),
                           ("kernel_constraint", kernel_constraint),
                           ("bias_constraint", bias_constraint), ("lora_rank", lora_rank)):
            if value is not None:
                raise self._unsupported(f"{arg} is not supported")
        self.units = int(units)
        self.activation = activation.lower()
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer, "kernel_initializer")
        self.bias_initializer = initializers.get(bias_initializer, "bias_initializer")
        self.kernel_regularizer = regularizers.get(kernel_regularizer, "kernel_regularizer")
        self.bias_regularizer = regularizers.get(bias_regularizer, "bias_regularizer")
        self.kernel = None
        self.bias = None

    def _output_shape(self, tensors, as_list):
        t = self._single(tensors, as_list)
        _row_shape(self, t)
        if self.built and self.kernel.shape[0] != t.shape[-1]:
            raise ValueError(f"{self._describe()} was built for inputs of width "
                             f"{self.kernel.shape[0]}, got input '{t.name}' of shape {t.shape}")
        return t.shape[:-1] + (self.units,)

    def _build(self, tensors):
        n_in = tensors[0].shape[-1]
        self.kernel = self._add_weight("kernel", (n_in, self.units), self.kernel_initializer,
                                       self.kernel_regularizer)
        if self.use_bias:
            self.bias = self._add_weight("bias", (self.units,), self.bias_initializer,
                                         self.bias_regularizer)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "activation": self.activation,
                "use_bias": self.use_bias,
                "kernel_initializer": initializers.serialize(self.kernel_initializer),
                "bias_initializer": initializers.serialize(self.bias_initializer),
                "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
                "bias_regularizer": regularizers.serialize(self.bias_regularizer)}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("kernel_initializer", "bias_initializer"):
            config[key] = initializers.deserialize(config[key])
        for key in ("kernel_regularizer", "bias_regularizer"):
            config[key] = regularizers.deserialize(config[key])
        return cls(**config)


SUPPORTED = ("Input", "InputLayer", "Embedding", "Flatten", "Dot", "Concatenate", "Add",
             "Multiply", "Dense")


def __getattr__(name):
    if name[:1].isupper():
        raise NotImplementedError(
            f"mf.keras.layers has no {name} layer: mf.keras runs recommendation graphs built "
            f"from {', '.join(SUPPORTED)}; use real Keras for other layers")
    raise AttributeError(f"module 'mf.keras.layers' has no attribute {name!r}")
