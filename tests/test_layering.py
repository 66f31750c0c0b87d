"""The layering of docs/internals.md, as a test: every import in ember points down.

Every module's imports are read from its source (function-local ones included, since a lazy
import is still a dependency) and each importing module and imported module is given its layer;
an import of a higher layer fails the test. Imports within one layer are free.
"""
from __future__ import annotations

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent / "ember"

# Bottom up. A module belongs to the layer of the longest prefix listed here.
LAYERS = {
    # 0. array kernels: NumPy arrays in and out; the state they and everything above read
    "ember._kernels": 0,
    "ember._state": 0,
    # 1. the graph: Functions, the backward engine, grad mode (no Tensor here)
    "ember.autograd.function": 1,
    "ember.autograd.engine": 1,
    "ember.autograd.grad_mode": 1,
    # 2. Tensor and its ops, creation, random streams, dtypes; the user-facing autograd API
    #    (autograd.grad, backward, gradcheck) works on Tensors; checkpoints hold Tensors.
    #    The `ember` package itself: its eager imports are this layer's, the rest load lazily.
    "ember": 2,
    "ember._tensor": 2,
    "ember._tensor_str": 2,
    "ember._ops": 2,
    "ember._creation": 2,
    "ember._dtype": 2,
    "ember._size": 2,
    "ember._parameter": 2,
    "ember.random": 2,
    "ember.autograd": 2,
    "ember.serialization": 2,
    "ember.utils.hooks": 2,   # hook handles, for Module and Optimizer alike (torch.utils.hooks)
    # 3. layers
    "ember.nn": 3,
    # 4. what trains and feeds them
    "ember.optim": 4,
    "ember.utils": 4,
    "ember.vision": 4,
    # 5. applications of all of the above
    "ember.distributed": 5,
    "ember.multiprocessing": 5,
    "ember.nn.parallel.distributed": 5,   # torch-named home: re-exports ember.distributed
    "ember.utils.data.distributed": 5,    # torch-named home: re-exports ember.distributed
    "ember.explain": 5,
    "ember.onnx": 5,
    "ember.demo": 5,
    "ember.cli": 5,
    "ember.__main__": 5,
}

# Only the layers that compute may call kernels directly; the rest use ember's public API.
# (The backward engine computes too: it copies a large gradient into a leaf on every core.)
KERNEL_USERS = ("ember._kernels", "ember._ops", "ember._tensor", "ember.nn",
                "ember.autograd.engine")


def layer_of(module: str) -> int:
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        prefix = ".".join(parts[:n])
        if prefix in LAYERS:
            return LAYERS[prefix]
    raise KeyError(f"{module} has no layer: add it to LAYERS in {__file__}")


def module_name(path: pathlib.Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_module(name: str) -> bool:
    path = ROOT.parent / name.replace(".", "/")
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def imports_of(path: pathlib.Path):
    """(imported ember module, line) for every import statement in the file, at any depth."""
    module = module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "ember":
                    yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "ember":
                continue
            for alias in node.names:  # `from . import x` imports the submodule x where one exists
                sub = f"{target}.{alias.name}"
                yield (sub if _is_module(sub) else target), node.lineno


SOURCES = sorted(ROOT.rglob("*.py"))


def test_every_module_has_a_layer():
    for path in SOURCES:
        layer_of(module_name(path))


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT.parent)))
def test_imports_point_down(path):
    module = module_name(path)
    upward = [f"{path.name}:{line} imports {target} (layer {layer_of(target)}, above "
              f"{module}'s layer {layer_of(module)})"
              for target, line in imports_of(path) if layer_of(target) > layer_of(module)]
    assert not upward, "\n".join(upward)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT.parent)))
def test_only_the_compute_layers_call_kernels(path):
    module = module_name(path)
    if module.startswith(KERNEL_USERS):
        return
    reaching = [f"{path.name}:{line} imports {target}" for target, line in imports_of(path)
                if target.startswith("ember._kernels")]
    assert not reaching, "\n".join(reaching)


def test_the_checker_sees_an_upward_import(tmp_path):
    """The test above would catch a real violation (guards against a checker that sees nothing)."""
    imports = dict(imports_of(ROOT / "nn" / "modules" / "conv.py"))
    assert any(t.startswith("ember.nn.functional") for t in imports)
    assert layer_of("ember.nn.functional") > layer_of("ember._tensor")
    assert layer_of("ember.autograd.engine") < layer_of("ember.autograd")
