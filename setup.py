"""Build hook for the one compiled part of rooflens; all other metadata is in pyproject.toml.

rooflens.traces._fastread (plain C on the CPython API; SQLite is found at run time) holds the
hot loops of the Kineto JSON and nsys SQLite readers.  It is optional: where no C compiler is
found the install still succeeds and the pure-Python readers are used, ~20x (Kineto) and ~2x
(SQLite) slower on large traces.
"""

import sys

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "rooflens.traces._fastread",
            sources=["src/rooflens/traces/_fastread.c"],
            extra_compile_args=["-O2", "-std=c11"],
            libraries=["dl"] if sys.platform.startswith("linux") else [],  # dlopen (SQLite)
            optional=True,
        )
    ]
)
