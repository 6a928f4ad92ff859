"""Only what setuptools needs for the compiled parts; metadata is in
pyproject.toml.

- the cffi extension (csrc/build_shim.py): the shim the runtime calls;
- pyrunc/pyrunc-front, an executable built from csrc/front.c: the `pyrunc`
  command that scripts/install.sh puts on PATH.  It starts and deletes plain
  containers itself and runs the Python CLI, with the interpreter this
  build ran under, for everything else.
"""
import os
import shlex
import subprocess
import sys
import sysconfig

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))


class BuildWithFront(build_py):
    def run(self):
        super().run()
        out = os.path.join(self.build_lib, "pyrunc", "pyrunc-front")
        cc = shlex.split(os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc")
        python = '"%s"' % sys.executable.replace("\\", "\\\\").replace('"', '\\"')
        cmd = cc + ["-O2", "-Wall", "-Werror", "-DPYRUNC_PYTHON=" + python,
                    os.path.join(HERE, "csrc", "front.c"), "-o", out]
        self.announce(" ".join(cmd), level=2)
        subprocess.check_call(cmd)


setup(cffi_modules=["csrc/build_shim.py:ffibuilder"],
      cmdclass={"build_py": BuildWithFront})
