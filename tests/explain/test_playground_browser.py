"""The playground page in headless Chromium: it loads with no console errors, its JavaScript
agrees with ember.nn (shape, error type and exact message) and with torch (shape, error or not)
on 600 random configurations in one call, with ember.explain.sizes on the worked formulas, with
ember.explain.matrix on the matrix view and with ember's conv_transpose2d on the overlap counts;
the animation runs, and desktop and phone screenshots are saved (to $EMBER_TEST_ARTIFACTS when
set) and checked for their content. Skipped, with the reason, where no browser is installed."""
from __future__ import annotations

import os
import pathlib

import numpy as np
import pytest
import torch

import ember
from ember.explain import playground as pg
from ember.explain.matrix import conv_matrix
from ember.explain.sizes import explain_size
from tests.explain.browser import DESKTOP, PHONE, open_page, requires_browser
from tests.explain import test_playground
from tests.explain.test_playground import (layer_kwargs, ones_overlap, outcome,
                                           BROWSER_SAMPLE, random_configs)

pytestmark = requires_browser
torch_reference_path = test_playground.torch_reference_path     # the autouse fixture, here too


@pytest.fixture(scope="module")
def page_path(tmp_path_factory):
    return pg.write_playground(tmp_path_factory.mktemp("playground") / "playground.html")


@pytest.fixture(scope="module")
def page(page_path):
    return open_page(page_path, *DESKTOP)


def _explained(config):
    """ember.explain.sizes' report for the configuration (valid ones only)."""
    kwargs = layer_kwargs(config)
    kwargs.pop("in_channels", None)
    family = config["layer"]
    return explain_size(f"{family}2d", (1, config["channels"], *config["input"]), **kwargs)


def test_browser_helper_sees_errors_and_network(tmp_path):
    """The helper's console_errors() is what makes 'no console errors' mean something: it
    reports an uncaught exception, console.error and an attempted download (offline)."""
    bad = tmp_path / "bad.html"
    bad.write_text("<!doctype html><title>bad</title><script src='https://example.org/x.js'>"
                   "</script><script>console.error('said'); setTimeout(function () "
                   "{ throw new Error('thrown'); }, 0);</script>", encoding="utf-8")
    p = open_page(bad, *PHONE)
    # a phone lays out a page without a viewport meta 980 px wide (the playground has one)
    assert p.run("return innerWidth") == 980
    p.run_async("setTimeout(arguments[arguments.length - 1], 50)")
    errors = "\n".join(p.console_errors())
    assert "said" in errors and "thrown" in errors and "example.org" in errors


def test_loads_without_console_errors(page):
    assert page.run("return typeof window.emberPlayground.compute") == "function"
    assert page.console_errors() == []
    # offline: the page fetched nothing but itself
    assert page.run("return performance.getEntriesByType('resource').length") == 0


def test_sizes_and_errors_agree_with_ember_and_torch(page):
    configs = random_configs(BROWSER_SAMPLE)
    results = page.run("return window.emberPlayground.computeAll(arguments[0])", configs)
    assert len(results) == len(configs)
    for config, js in zip(configs, results):
        kind, got = outcome(ember, config)
        if kind == "ok":
            assert js["error"] is None, (config, js["error"])
            assert js["shape"] == got, config
            dims = _explained(config).dims
            assert [(d["name"], d["filled"], d["value"], d["final"], d["rule"]) for d in js["dims"]] \
                == [(d.name, d.filled, d.value, d.final, d.rule) for d in dims], config
        else:
            assert js["error"] is not None, (config, kind, got)
            assert (js["error"]["type"], js["error"]["message"]) == (kind, got), config
        torch_kind, torch_got = outcome(torch, config)
        assert (torch_kind == "ok") == (kind == "ok"), (config, torch_got)
        if kind == "ok":
            assert torch_got == got, config


_TINY = [
    dict(layer="conv", channels=1, input=[4, 4], out_channels=1, kernel_size=[3, 3], stride=[1, 1],
         padding=[0, 0], dilation=[1, 1], groups=1),
    dict(layer="conv", channels=1, input=[5, 4], out_channels=1, kernel_size=[2, 3], stride=[2, 1],
         padding=[1, 1], dilation=[1, 2], groups=1),
    dict(layer="conv", channels=1, input=[4, 5], out_channels=1, kernel_size=[2, 3], stride=[1, 1],
         padding="same", dilation=[1, 2], groups=1),     # odd total padding along H
    dict(layer="conv_transpose", channels=1, input=[2, 3], out_channels=1, kernel_size=[3, 2],
         stride=[2, 1], padding=[1, 0], dilation=[1, 1], output_padding=[1, 0], groups=1),
    dict(layer="conv_transpose", channels=1, input=[2, 2], out_channels=1, kernel_size=[3, 3],
         stride=[1, 1], padding=[0, 0], dilation=[2, 1], output_padding=[0, 0], groups=1),
]


@pytest.mark.parametrize("config", _TINY, ids=lambda c: c["layer"])
def test_matrix_view_is_ember_conv_matrix(page, config):
    """Entry = 1 + the kernel tap's index, as conv_matrix gives for a weight 1..k*k;
    the transposed layer shows C^T, C being the convolution from its output size back."""
    got = np.array(page.run("return window.emberPlayground.convMatrix(arguments[0])", config))
    kh, kw = config["kernel_size"]
    weight = np.arange(1, kh * kw + 1, dtype=np.float64).reshape(1, 1, kh, kw)
    args = dict(stride=tuple(config["stride"]), padding=tuple(config["padding"]) if
                config["padding"] != "same" else None, dilation=tuple(config["dilation"]))
    if config["padding"] == "same":
        # 'same' pads unevenly, which conv_matrix does not take: probe ember's conv2d instead,
        # column j = conv2d(e_j), the j-th basis image
        import ember.nn.functional as F
        basis = np.eye(int(np.prod(config["input"]))).reshape(-1, 1, *config["input"])
        expected = F.conv2d(ember.tensor(basis), ember.tensor(weight), padding="same",
                            dilation=tuple(config["dilation"])).numpy().reshape(len(basis), -1).T
    elif config["layer"] == "conv":
        expected = conv_matrix(weight, (1, *config["input"]), **args)
    else:
        out = outcome(ember, config)[1][2:]
        expected = conv_matrix(weight, (1, *out), **args).T
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("config", [
    dict(input=[8, 8], kernel_size=[3, 3], stride=[2, 2], padding=[1, 1], output_padding=[1, 1],
         dilation=[1, 1]),
    dict(input=[3, 5], kernel_size=[4, 3], stride=[3, 2], padding=[0, 2], output_padding=[2, 0],
         dilation=[1, 2]),
    dict(input=[4, 2], kernel_size=[2, 5], stride=[1, 3], padding=[1, 1], output_padding=[0, 1],
         dilation=[3, 1]),
])
def test_overlap_counts_are_ember_conv_transpose_of_ones(page, config):
    config = dict(layer="conv_transpose", channels=1, out_channels=1, groups=1, **config)
    got = np.array(page.run("return window.emberPlayground.overlapCounts(arguments[0])", config))
    np.testing.assert_array_equal(got, ones_overlap(config))
    if config["input"] == [8, 8]:   # ember explain checkerboard's constant image
        from ember.explain.checkerboard import checkerboard
        np.testing.assert_array_equal(got, checkerboard(np.ones((8, 8))).constant_transposed)


def test_error_shown_is_embers_message(page):
    config = dict(layer="max_pool", channels=2, input=[9, 9], kernel_size=[3, 2], padding=[1, 2],
                  dilation=[1, 4], stride=[1, 1])
    page.run("window.emberPlayground.setConfig(arguments[0])", config)
    kind, message = outcome(ember, config)
    assert page.run("return document.getElementById('error').textContent") == f"{kind}: {message}"
    assert page.run("return document.getElementById('error').hidden") is False
    assert page.console_errors() == []


def _move(page, control_id, value):
    """Set a control the way a user does: the value, then the browser's input/change event."""
    page.run("""var el = document.getElementById(arguments[0]);
        if (el.type === 'checkbox') { el.checked = arguments[1]; el.dispatchEvent(new Event('change')); }
        else if (el.tagName === 'SELECT') { el.value = arguments[1]; el.dispatchEvent(new Event('change')); }
        else { el.value = arguments[1]; el.dispatchEvent(new Event('input')); }""", control_id, value)


def test_controls_drive_the_page(page):
    """Moving the sliders shows ember's shape; linked H and W move together, unlinked apart."""
    page.run("window.emberPlayground.setConfig(arguments[0])",
             dict(layer="max_pool", input=[6, 6], kernel_size=[3, 3], stride=[2, 2],
                  padding=[1, 1], ceil_mode=True))
    _move(page, "layer", "conv_transpose")
    knobs = page.run("return [...document.querySelectorAll('#knobs .knob')]"
                     ".map(e => e.dataset.knob)")
    assert "output_padding0" in knobs and "ceil_mode" not in knobs
    _move(page, "knob-input1", 5)                      # linked: W moves H too
    _move(page, "knob-stride0", 2)
    _move(page, "knob-output_padding0", 1)
    _move(page, "link", False)
    _move(page, "knob-kernel_size1", 4)
    config = dict(layer="conv_transpose", channels=1, input=[5, 5], out_channels=1,
                  kernel_size=[3, 4], stride=[2, 2], padding=[1, 1], dilation=[1, 1],
                  output_padding=[1, 1], groups=1)
    assert page.run("return window.emberPlayground.state.config.kernel_size") == [3, 4]
    kind, shape = outcome(ember, config)
    assert page.run("return document.getElementById('shape').textContent") == \
        f"output shape: {shape}"
    assert page.console_errors() == []


def test_every_layer_animates_without_errors(page):
    """requestAnimationFrame keeps running, play/pause and step work, for every layer."""
    for family in pg.LAYERS:
        config = dict(layer=family, channels=1, input=[6, 5], out_channels=1, kernel_size=[3, 3],
                      stride=[2, 2], padding=[1, 1], output_padding=[1, 1], ceil_mode=True)
        page.run("window.emberPlayground.setConfig(arguments[0])", config)
        frames = page.run_async("""
            var done = arguments[arguments.length - 1], s = window.emberPlayground.state;
            var start = s.frames; s.period = 0;
            setTimeout(function () { done(s.frames - start); }, 150);""")
        assert frames > 0, family
        page.run("document.getElementById('play').click()")        # pause
        assert page.run("return window.emberPlayground.state.playing") is False
        before = page.run("return window.emberPlayground.state.step")
        page.run("document.getElementById('next').click()")
        after = page.run("return window.emberPlayground.state.step")
        assert after == (before + 1) % page.run("return window.emberPlayground.state.steps")
        page.run("document.getElementById('play').click(); window.emberPlayground.state.period = 700")
    assert page.console_errors() == []


def _pixel_colours(png):
    from PIL import Image
    with Image.open(png) as im:
        return im.size, {tuple(c[1][:3]) for c in im.convert("RGB").getcolors(1 << 20)}


def save_screenshots(page_path, folder) -> list:
    """Desktop and phone screenshots of the default page (a ceil_mode max pool): the docs'
    images are made by this function."""
    shots = []
    for name, (width, height) in (("desktop", DESKTOP), ("phone", PHONE)):
        p = open_page(page_path, width, height)
        p.run("var s = window.emberPlayground.state; s.playing = false;"
              "window.emberPlayground.step(1)")
        shots.append(p.screenshot(pathlib.Path(folder) / f"playground-{name}.png", full_page=True))
        assert p.console_errors() == [], name
    return shots


def test_screenshots_desktop_and_phone(page_path, tmp_path):
    pytest.importorskip("PIL")
    folder = os.environ.get("EMBER_TEST_ARTIFACTS") or tmp_path
    desktop, phone = save_screenshots(page_path, folder)
    for png, width in ((desktop, DESKTOP[0]), (phone, PHONE[0])):
        size, colours = _pixel_colours(png)
        assert size[0] == width, png                 # no horizontal overflow
        assert (217, 217, 217) in colours            # padding cells drawn
        assert (22, 163, 74) in colours              # the current output cell
    assert open_page(page_path, *PHONE).run("return innerWidth") == PHONE[0]
    # the phone layout stacks the controls above the picture, so the page is taller
    assert _pixel_colours(phone)[0][1] > _pixel_colours(desktop)[0][1]


def _shrink_png(path) -> None:
    """64 colours, no dithering: the page's flat colours survive and the file stays small."""
    from PIL import Image
    with Image.open(path) as im:
        small = im.convert("RGB").quantize(colors=64, method=Image.Quantize.MEDIANCUT,
                                          dither=Image.Dither.NONE)
    tmp = path.with_name(path.name + ".tmp")
    small.save(tmp, format="PNG", optimize=True)
    os.replace(tmp, path)


if __name__ == "__main__":
    # docs/explain.md's screenshots: python -m tests.explain.test_playground_browser docs/img
    import sys
    import tempfile
    folder = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    with tempfile.TemporaryDirectory() as tmp:
        for png in save_screenshots(pg.write_playground(pathlib.Path(tmp) / "playground.html"),
                                    folder):
            _shrink_png(png)
            print(f"wrote {png} ({png.stat().st_size // 1024} KiB)")
