"""pyrunc: an OCI container runtime, a drop-in replacement for runc.

The library:

    import pyrunc
    rt = pyrunc.Runtime("/run/pyrunc")
    c = rt.create("web", "/path/to/bundle")
    c.start()

Runtime, Container and State (runtime.py, container.py) and the errors
(errors.py) are imported on first use: `import pyrunc` itself costs
nothing, as the command line needs (pyrunc.cli).
"""
from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["Runtime", "Container", "State", "PyruncError", "ConfigError", "BadArgument",
           "ContainerNotFound", "ContainerExists", "WrongState", "SpawnError", "HookError",
           "PyruncWarning", "default_spec", "__version__"]

TYPE_CHECKING = False
if TYPE_CHECKING:
    # What __getattr__ returns, as mypy cannot see through it: the exports'
    # own types for the package's users (nothing of this is imported at run
    # time).
    from typing import Any

    from .container import Container as Container, State as State
    from .errors import (
        BadArgument as BadArgument, ConfigError as ConfigError,
        ContainerExists as ContainerExists, ContainerNotFound as ContainerNotFound,
        HookError as HookError, PyruncError as PyruncError, PyruncWarning as PyruncWarning,
        SpawnError as SpawnError, WrongState as WrongState)
    from .runtime import Runtime as Runtime
    from .specgen import default_spec as default_spec

_WHERE = {"Runtime": "runtime", "Container": "container", "State": "container",
          "default_spec": "specgen"}


def __getattr__(name: str) -> Any:
    if name in __all__ and name != "__version__":
        import importlib
        module = importlib.import_module("." + _WHERE.get(name, "errors"), __name__)
        value = getattr(module, name)
        globals()[name] = value
        return value
    raise AttributeError("module 'pyrunc' has no attribute %r" % name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
