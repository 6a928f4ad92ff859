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
__version__ = "0.1.0"

__all__ = ["Runtime", "Container", "State", "PyruncError", "ConfigError", "BadArgument",
           "ContainerNotFound", "ContainerExists", "WrongState", "SpawnError", "HookError",
           "PyruncWarning", "default_spec", "__version__"]

_WHERE = {"Runtime": "runtime", "Container": "container", "State": "container",
          "default_spec": "specgen"}


def __getattr__(name):
    if name in __all__ and name != "__version__":
        import importlib
        module = importlib.import_module("." + _WHERE.get(name, "errors"), __name__)
        value = getattr(module, name)
        globals()[name] = value
        return value
    raise AttributeError("module 'pyrunc' has no attribute %r" % name)


def __dir__():
    return sorted(set(globals()) | set(__all__))
