"""ember.explain.animate: each frame's window is the one the layer really reads (the window's
numbers reproduce torch's output), ember's numbers equal torch's, and the GIF has one frame
per output element plus intro and outro, changing where the window moves."""
import importlib

import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import ember
from ember.explain.animate import INPUT, animate, build_scene
from ember.explain.sizes import SizeError

pytest.importorskip("PIL")
# the module (ember.explain.animate the attribute is the function of the same name)
animate_module = importlib.import_module("ember.explain.animate")


def _torch_output(scene, op, x, w, **cfg):
    """torch's output for the scene's input (recovered from the drawing) and weight."""
    F = torch.nn.functional
    n = int(op[-2])
    t = lambda a: torch.tensor(a.reshape((1, 1) + (a.shape if n == 2 else a.shape[1:])))  # noqa: E731
    return getattr(F, op)(t(x), *([t(w)] if w is not None else []), **cfg)


def _step_value(scene, step):
    """What the drawn window says the output is: the sum, max, average or copied value."""
    vals = [scene.values[c] for c in step.counted]
    if scene.op.startswith("conv"):
        return sum(scene.values[c] * w for c, w in zip(step.cells, step.taps))
    if scene.op.startswith("max_pool"):
        return max(vals)
    if scene.op.startswith("avg_pool"):
        return sum(vals) / step.divisor
    return vals[0] if vals else 0.0


@st.composite
def animations(draw):
    family = draw(st.sampled_from(["conv", "conv_transpose", "max_pool", "avg_pool", "max_unpool"]))
    n = draw(st.integers(1, 2))
    size = tuple(draw(st.integers(1, 6)) for _ in range(n))
    dims = lambda lo, hi: tuple(draw(st.integers(lo, hi)) for _ in range(n))  # noqa: E731
    cfg = dict(kernel_size=dims(1, 3), stride=dims(1, 3), padding=dims(0, 2))
    if family in ("conv", "conv_transpose", "max_pool"):
        cfg["dilation"] = dims(1, 2)
    if family == "conv_transpose":
        cfg["output_padding"] = dims(0, 1)
    if family in ("max_pool", "avg_pool"):
        cfg["ceil_mode"] = draw(st.booleans())
    if family == "avg_pool":
        cfg["count_include_pad"] = draw(st.booleans())
        if n == 2 and draw(st.integers(0, 3)) == 0:
            cfg["divisor_override"] = draw(st.integers(1, 5))
    return f"{family}{n}d", size, cfg


def _with_torch_layers(monkeypatch):
    """Compute the numbers with torch, to test the geometry on its own."""
    monkeypatch.setattr(animate_module, "_lib", lambda: torch)


def _original_input(scene):
    """The input array, read back from the drawn canvas."""
    if scene.op.startswith("max_unpool"):
        return scene.values
    if scene.op.startswith("conv_transpose"):
        rows = sorted({r for r, c in zip(*np.nonzero(scene.kind == INPUT))})
        cols = sorted({c for r, c in zip(*np.nonzero(scene.kind == INPUT))})
        return scene.values[np.ix_(rows, cols)]
    rows, cols = np.nonzero(scene.kind == INPUT)
    return scene.values[rows.min():rows.max() + 1, cols.min():cols.max() + 1]


def _check_geometry(scene, op, cfg):
    n = int(op[-2])
    x = _original_input(scene)
    assert scene.out_values.size == len(scene.steps)
    if op.startswith("max_unpool"):
        return  # its indices are inputs; checked in test_unpool_values
    w = None
    if op.startswith("conv"):
        w = scene.kernel[::-1, ::-1].copy() if op.startswith("conv_transpose") else scene.kernel
    if op.startswith("conv"):
        cfg = {k: v for k, v in cfg.items() if k != "kernel_size"}
    expected = _torch_output(scene, op, x, w, **cfg).numpy().reshape(scene.out_values.shape)
    np.testing.assert_allclose(scene.out_values, expected, atol=1e-9)
    drawn = np.array([_step_value(scene, s) for s in scene.steps]).reshape(expected.shape)
    np.testing.assert_allclose(drawn, expected, atol=1e-9, err_msg="the drawn window is not the one read")


@settings(max_examples=30, deadline=None)
@given(case=animations())
def test_each_window_is_the_one_the_layer_reads(case):
    op, size, cfg = case
    with pytest.MonkeyPatch.context() as mp:
        _with_torch_layers(mp)
        try:
            scene = build_scene(op, size, **cfg)
        except SizeError:
            assume(False)  # an impossible configuration (kernel too large, ...): nothing to draw
        except ValueError as e:
            assert "empty" in str(e) or "outside the output" in str(e)
            assume(False)
        _check_geometry(scene, op, cfg)


CASES = [
    ("conv2d", (5, 5), dict(kernel_size=3, stride=2, padding=1)),
    ("conv2d", (7, 6), dict(kernel_size=(3, 2), dilation=(2, 1), padding=(1, 0))),
    ("conv2d", (5, 6), dict(kernel_size=4, padding="same")),
    ("conv1d", (8,), dict(kernel_size=3, stride=3, padding=2)),
    ("conv_transpose2d", (3, 3), dict(kernel_size=3, stride=2, padding=1, output_padding=1)),
    ("conv_transpose2d", (2, 3), dict(kernel_size=2, stride=3, dilation=2, padding=2)),
    ("conv_transpose1d", (4,), dict(kernel_size=1, stride=2, padding=1)),
    ("max_pool2d", (5, 5), dict(kernel_size=2, stride=2, ceil_mode=True)),
    ("max_pool2d", (6, 7), dict(kernel_size=3, stride=2, padding=1, dilation=(1, 2))),
    ("max_pool1d", (5,), dict(kernel_size=2, stride=2, padding=1, ceil_mode=True)),
    ("avg_pool2d", (5, 6), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    ("avg_pool2d", (5, 5), dict(kernel_size=3, stride=2, padding=1, count_include_pad=False)),
    ("avg_pool2d", (4, 4), dict(kernel_size=2, divisor_override=3)),
    ("avg_pool1d", (7,), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
]


@pytest.mark.parametrize("op,size,cfg", CASES)
def test_embers_numbers_equal_torchs(op, size, cfg):
    if not hasattr(ember.nn.functional, op):
        pytest.skip(f"ember.nn.functional.{op} is not there yet")
    scene = build_scene(op, size, **cfg)
    _check_geometry(scene, op, cfg)


@pytest.mark.parametrize("size,cfg", [((2, 3), dict(kernel_size=3, stride=2, padding=1)),
                                      ((3,), dict(kernel_size=2, output_size=(7,))),
                                      ((2, 2), dict(kernel_size=2))])
def test_unpool_values(size, cfg):
    op = f"max_unpool{len(size)}d"
    scene = build_scene(op, size, **cfg)
    n = len(size)
    shape = (1, 1) + (scene.values.shape if n == 2 else scene.values.shape[1:])
    # the indices the scene used are written on the input cells ("#5")
    indices = np.array([int(scene.marks[rc][1:]) for rc in np.ndindex(*scene.values.shape)])
    expected = torch.nn.functional.max_unpool1d if n == 1 else torch.nn.functional.max_unpool2d
    out = expected(torch.tensor(scene.values.reshape(shape)), torch.tensor(indices.reshape(shape)),
                   cfg["kernel_size"], cfg.get("stride"), cfg.get("padding", 0),
                   cfg.get("output_size")).numpy().reshape(scene.out_values.shape)
    np.testing.assert_array_equal(scene.out_values, out)
    for step in scene.steps:
        assert step.value == (scene.values[step.cells[0]] if step.cells else 0)


@pytest.mark.parametrize("op,size,cfg", [CASES[0], CASES[4], CASES[7], CASES[10],
                                         ("max_unpool2d", (2, 3), dict(kernel_size=3, stride=2, padding=1))])
def test_gif_has_a_frame_per_output_element_and_the_window_moves(op, size, cfg, tmp_path):
    from PIL import Image, ImageChops

    if not hasattr(ember.nn.functional, op):
        pytest.skip(f"ember.nn.functional.{op} is not there yet")
    anim = animate(op, size, **cfg)
    path = anim.save(tmp_path / "a.gif")
    n_out = anim.scene.out_values.size
    with Image.open(path) as gif:
        assert gif.n_frames == n_out + 2
        frames = []
        for i in range(gif.n_frames):
            gif.seek(i)
            frames.append(gif.convert("RGB"))
            assert gif.info["duration"] > 0
    for t, step in enumerate(anim.scene.steps, start=1):
        before, now = frames[t - 1], frames[t]
        # the current output cell is highlighted in this frame and not in the previous one
        box = anim.cell_box("right", *step.index)
        assert ImageChops.difference(before.crop(box), now.crop(box)).getbbox() is not None
        # and the window's cells look different from the frame before (it moved onto them)
        for cell in step.cells:
            if t == 1 or cell not in anim.scene.steps[t - 2].cells:
                crop = anim.cell_box("left", *cell)
                assert ImageChops.difference(before.crop(crop), now.crop(crop)).getbbox() is not None
    # the outro shows every output value; the intro none
    assert ImageChops.difference(frames[0], frames[-1]).getbbox() is not None


def test_frames_have_the_formula_and_caption():
    anim = animate("max_pool1d", (5,), kernel_size=2, stride=2, padding=1, ceil_mode=True)
    assert anim.scene.intro[0] == "L_out = ceil((5 + 2*1 - 1*(2-1) - 1) / 2) + 1 = 4"
    assert "dropped -> 3" in anim.scene.intro[1]
    assert len(anim.frames) == 3 + 2
    assert anim.scene.steps[0].caption.startswith("y[0] = max(")


def test_bad_configurations_are_explained():
    with pytest.raises(SizeError, match="kernel 7 is larger than the padded input 5"):
        animate("conv2d", (5, 5), kernel_size=7)
    with pytest.raises(ValueError, match="1-d or 2-d"):
        animate("conv3d", (3, 3, 3), kernel_size=2)
    with pytest.raises(ValueError, match="spatial input size of 2"):
        animate("conv2d", (5,), kernel_size=2)
