"""Every public function, class and method of mf has an ``Examples`` section in its docstring.

The public API is what the ``__all__`` of each module under ``mf`` names
(``mf.kernels`` and modules or names starting with ``_`` left out): the
functions and classes defined in mf, and the public methods those classes
define or inherit from classes of mf. Properties are attributes, described
by their class. A few methods are shown by the example of their class
instead: the hooks a subclass overrides and the configuration round trip,
listed in ``SHOWN_BY_CLASS`` under the class that introduces them.
"""

import importlib
import inspect
import pkgutil
import re

import mf

SHOWN_BY_CLASS = {
    "mf.keras.callbacks.Callback": {
        "set_model", "set_params", "on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end",
        "on_train_batch_begin", "on_train_batch_end", "on_batch_begin", "on_batch_end",
    },
    "mf.keras.initializers.Initializer": {"get_config", "from_config"},
    "mf.keras.layers.Layer": {"get_config", "from_config"},
    "mf.keras.layers.Variable": {"numpy", "assign"},
    "mf.keras.losses.Loss": {"get_config"},
    "mf.keras.metrics.Metric": {"get_config", "result"},
    "mf.keras.optimizers.Optimizer": {"get_config", "from_config"},
    "mf.keras.regularizers.Regularizer": {"get_config"},
}

_EXAMPLES = re.compile(r"^[ \t]*Examples[ \t]*\n[ \t]*-{3,}[ \t]*\n(?:.*\n)*?[ \t]*>>> ", re.MULTILINE)


def _qualname(obj):
    return f"{obj.__module__}.{obj.__qualname__}"


def _in_mf(obj):
    module = getattr(obj, "__module__", None) or ""
    return (module == "mf" or module.startswith("mf.")) and not module.startswith("mf.kernels")


def _public_modules():
    yield mf
    for info in pkgutil.walk_packages(mf.__path__, "mf."):
        parts = info.name.split(".")[1:]
        if parts[0] == "kernels" or any(part.startswith("_") for part in parts):
            continue
        yield importlib.import_module(info.name)


def _shown_by_class(cls, name):
    return any(name in SHOWN_BY_CLASS.get(_qualname(base), ()) for base in cls.__mro__)


def _methods(cls):
    """``(defining class, name, function)`` of the public methods of ``cls`` defined in mf."""
    seen = set()
    for owner in cls.__mro__:
        if not _in_mf(owner):
            continue
        for name, attr in vars(owner).items():
            if name.startswith("_") or name in seen:
                continue
            seen.add(name)
            if isinstance(attr, (staticmethod, classmethod)):
                attr = attr.__func__
            if inspect.isfunction(attr) and not _shown_by_class(cls, name):
                yield owner, name, attr


def public_api():
    """``{qualified name: docstring}`` of every object the module docstring describes."""
    api = {}
    for module in _public_modules():
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name)
            if name.startswith("_") or not (inspect.isclass(obj) or inspect.isfunction(obj)) or not _in_mf(obj):
                continue
            api[_qualname(obj)] = obj.__doc__
            if inspect.isclass(obj):
                for owner, method, func in _methods(obj):
                    api[f"{_qualname(owner)}.{method}"] = func.__doc__
    return api


def test_public_api_is_walked():
    api = public_api()
    for name in ("mf.data.ratings.Ratings", "mf.data.ratings.Ratings.to_csr", "mf.persist.load",
                 "mf.models.implicit._ImplicitModel.predict", "mf.keras.models.Model.fit",
                 "mf.keras.callbacks.EarlyStopping"):
        assert name in api
    assert "mf.keras.callbacks.History.on_epoch_end" not in api
    assert not any(name.startswith("mf.kernels.") for name in api)


def test_shown_by_class_names_exist():
    for owner, names in SHOWN_BY_CLASS.items():
        module, _, cls_name = owner.rpartition(".")
        family = [getattr(importlib.import_module(module), cls_name)]
        for cls in family:
            family.extend(cls.__subclasses__())
        defined = {name for cls in family for name in vars(cls)}
        assert names <= defined, f"neither {owner} nor a subclass defines {sorted(names - defined)}"


def test_every_public_object_has_an_example():
    missing = sorted(name for name, doc in public_api().items() if not _EXAMPLES.search(doc or ""))
    assert not missing, f"{len(missing)} public objects have no Examples section:\n" + "\n".join(missing)
