"""Package list for setuptools (the metadata is in pyproject.toml).

Only here because pyproject.toml's `packages.find` cannot add a package from another folder:
`resources/` (icons, style sheets, translations, desktop files) is installed as the package data
`app/resources`, where app.resource_files finds it; in the source tree it stays a plain folder.
"""
from setuptools import find_packages, setup

setup(
    packages=find_packages(include=["app*", "sam_backend*", "plugins*"]) + ["app.resources"],
    package_dir={"app.resources": "resources"},
)
