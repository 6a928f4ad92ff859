"""pyrunc: an OCI container runtime, a drop-in replacement for runc.

The library API is pyrunc.runtime.Runtime; the command line is pyrunc.cli.
"""
__version__ = "0.1.0"
