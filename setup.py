"""Build hook for the one compiled part of rooflens; all other metadata is in pyproject.toml.

The native Kineto JSON scanner (plain C on the CPython API, no other dependency) is optional:
where no C compiler is found the install still succeeds and rooflens reads Kineto traces with
its pure-Python reader, ~20x slower on large traces (rooflens.traces.kineto_scan.available()).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "rooflens.traces._kineto_scan",
            sources=["src/rooflens/traces/_kineto_scan.c"],
            extra_compile_args=["-O2", "-std=c11"],
            optional=True,
        )
    ]
)
