"""A registry of architectures by name, in the spirit of timm's register_model / create_model."""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable
from typing import Any

from rtstyle.errors import RtstyleError
from rtstyle.models.spec import MAX_PARAMETERS, NetSpec

SpecFactory = Callable[..., NetSpec]
_REGISTRY: dict[str, SpecFactory] = {}


def register_model(factory: SpecFactory) -> SpecFactory:
    """Register an architecture under its function name (dashes and underscores are equivalent)."""
    name = factory.__name__.replace("_", "-")
    if name in _REGISTRY:
        raise ValueError(f"architecture {name!r} is registered twice")
    _REGISTRY[name] = factory
    return factory


def available_models() -> list[str]:
    return sorted(_REGISTRY)


def create_spec(name: str, **kwargs: Any) -> NetSpec:
    """The spec of a registered architecture; kwargs are its hyperparameters (for example width)."""
    key = name.replace("_", "-")
    factory = _REGISTRY.get(key)
    if factory is None:
        close = difflib.get_close_matches(key, available_models(), n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else f" (available: {', '.join(available_models())})"
        raise RtstyleError(f"unknown architecture {name!r}{hint}")
    _check_types(key, factory, kwargs)
    try:
        spec = factory(**kwargs)
    except TypeError as exc:
        raise RtstyleError(f"bad parameters for architecture {key!r}: {exc}") from None
    # Checked for every use (train, bench, a style file's own record), not only training's: bench --arch-arg
    # width=100000 asked numpy for 1.3 TiB of random weights and stopped with its traceback.
    if (count := spec.num_params()) > MAX_PARAMETERS:
        raise RtstyleError(f"the {key} network with {kwargs} would have {count:,} parameters, too many to train or "
                           f"run (at most {MAX_PARAMETERS:,}): lower --width or --blocks")
    return spec


def _check_types(key: str, factory: SpecFactory, kwargs: dict[str, Any]) -> None:
    """A parameter whose default is an int takes an int (`--arch-arg width=abc` failed deep in the factory)."""
    parameters = inspect.signature(factory).parameters
    for name, value in kwargs.items():
        default = parameters[name].default if name in parameters else None
        if type(default) is int and type(value) is not int:
            raise RtstyleError(f"architecture {key!r}: {name} must be an integer, not {value!r}")


def create_model(name: str, **kwargs: Any) -> Any:
    """A freshly initialised torch module for a registered architecture (needs torch)."""
    from rtstyle.models.torch_net import StyleNet

    return StyleNet(create_spec(name, **kwargs))
