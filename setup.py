"""Package list for setuptools: the repository root is the package ``nnphys``.

``pyproject.toml`` maps ``nnphys`` to the root (``package-dir``) and holds the metadata;
here the subpackages are found, so a new subpackage is installed without editing a list,
and this file itself is kept out of the package (it sits in the package's directory).
"""

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py


class _BuildPy(build_py):
    def find_package_modules(self, package, package_dir):
        modules = super().find_package_modules(package, package_dir)
        return [m for m in modules if (m[0], m[1]) != ("nnphys", "setup")]


setup(packages=["nnphys"] + ["nnphys." + p for p in find_packages(
          ".", exclude=["build", "build.*", "dist", "dist.*"])],
      cmdclass={"build_py": _BuildPy})
