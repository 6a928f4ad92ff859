"""Only what setuptools needs for the cffi extension; metadata is in
pyproject.toml."""
from setuptools import setup

setup(cffi_modules=["csrc/build_shim.py:ffibuilder"])
