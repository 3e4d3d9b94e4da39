"""Package discovery for the nasir layout.

``frontends/``, ``backends/`` and ``spaces/`` live at the top of the repository but are
installed as ``nasir.frontends``, ``nasir.backends`` and ``nasir.spaces`` (see
``package-dir`` in pyproject.toml). Listing sub-packages by hand drops new ones silently from
wheels, so they are discovered here.
"""

from setuptools import find_packages, setup

ROOTS = {"nasir": "nasir", "nasir.frontends": "frontends", "nasir.backends": "backends", "nasir.spaces": "spaces"}


def _packages() -> list[str]:
    found: list[str] = []
    for package, folder in ROOTS.items():
        found.append(package)
        found.extend(f"{package}.{sub}" for sub in find_packages(folder))
    return sorted(set(found))


setup(packages=_packages())
