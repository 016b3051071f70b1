"""Everything is in pyproject.toml but one step it cannot say: the command line ``train.py``
sits at the top of the repository and is installed as ``gymlab/train.py``."""

import os

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildPy(build_py):
    def run(self):
        super().run()
        if not self.editable_mode:  # an editable install finds train.py through gymlab/__init__.py
            self.copy_file("train.py", os.path.join(self.build_lib, "gymlab", "train.py"))


setup(cmdclass={"build_py": BuildPy})
