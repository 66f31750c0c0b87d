"""torchvision as a test oracle (models' architectures, transforms' parameters).

The torchvision wheel on PyPI links its C++ ops against CUDA builds of torch; with the CPU build
of torch the tests use, `import torchvision` stops at registering fake kernels for `nms`/`qnms`
(operators its missing extension would have defined). Models and transforms never call those
ops, so declaring their schemas first lets the pure-Python parts import. Tests call
`torchvision()` and skip when torchvision is not installed.
"""
import functools
import importlib.util

import pytest


@functools.lru_cache(None)
def _import():
    import torch
    try:
        import torchvision  # noqa: F401
        return torchvision
    except RuntimeError as error:
        if "torchvision::nms" not in str(error):
            raise
    lib = torch.library.Library("torchvision", "DEF")
    lib.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    lib.define("qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    _import.keep_alive = lib  # the schemas live as long as the Library object
    import sys
    for name in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
        del sys.modules[name]  # the failed import left half-initialised modules behind
    import torchvision
    return torchvision


def torchvision():
    """The torchvision package, importable on CPU-only torch; skips the test when absent."""
    if importlib.util.find_spec("torchvision") is None:
        pytest.skip("torchvision (the oracle for this test) is not installed")
    return _import()
