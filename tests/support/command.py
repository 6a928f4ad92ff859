"""The `pyrunc` command that the installed distribution put on disk (the
compiled front-end, csrc/front.c, a script of the wheel): the file named
by the RECORD of the distribution that the imported pyrunc belongs to,
wherever pip installed it (a venv's bin, ~/.local/bin, /usr/local/bin)."""
import importlib.metadata
import os

import pyrunc


def installed_command():
    """The absolute path of the installed `pyrunc`, or None if the imported
    pyrunc's distribution installed none (a source tree on sys.path)."""
    package = os.path.realpath(pyrunc.__file__)
    for dist in importlib.metadata.distributions(name="pyrunc"):
        files = dist.files or ()
        if not any(os.path.realpath(str(dist.locate_file(f))) == package for f in files):
            continue   # (an egg-info of a source tree on sys.path)
        for f in files:
            if f.name == "pyrunc" and f.parts[-2:-1] == ("bin",):
                path = os.path.realpath(str(dist.locate_file(f)))
                if os.access(path, os.X_OK):
                    return path
    return None
