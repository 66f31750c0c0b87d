"""The playground page without a browser: what it embeds is ember's (messages, each layer's
arguments, formulas), every error ember raises over the page's ranges has its template, and the
file is self-contained. tests/explain/test_playground_browser.py runs its JavaScript.

The helpers here (configurations, ember's and torch's outcome for one) serve both files."""
from __future__ import annotations

import inspect
import json
import random
import re
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import ember
from ember.explain import playground as pg
from ember.explain.cli import main as explain_main

FAMILIES = tuple(pg.LAYERS)
BROWSER_SAMPLE = 600        # configurations the browser test runs through the page at once


# -- one configuration, run by ember and by torch ---------------------------------------------

@pytest.fixture(autouse=True, scope="module")
def torch_reference_path():
    """torch as the oracle: its native ATen kernels, whose checks ember's messages copy (the
    oneDNN path answers some impossible transposed convolutions with "could not construct a
    memory descriptor using a format tag"), on one thread (its pool on tiny layers, on a busy
    shared machine, cost 10-20x the work)."""
    threads, mkldnn = torch.get_num_threads(), torch.backends.mkldnn.enabled
    torch.set_num_threads(1)
    torch.backends.mkldnn.enabled = False
    yield
    torch.backends.mkldnn.enabled = mkldnn
    torch.set_num_threads(threads)


def layer_kwargs(config) -> dict:
    """The constructor arguments of the page's layer for ``config`` (as the page passes them)."""
    knobs = pg.layer_knobs()[config["layer"]]
    kwargs = {k: config[k] for k in knobs if k in config}
    for k in pg.PER_AXIS:
        if isinstance(kwargs.get(k), list):
            kwargs[k] = tuple(kwargs[k])
    if config["layer"] in ("conv", "conv_transpose"):
        kwargs["in_channels"] = config["channels"]
    return kwargs


def outcome(lib, config):
    """``("ok", shape)`` or ``(exception type, message)``: what ``lib``'s layer does with a
    ``(1, channels, H, W)`` input of zeros."""
    nn = lib.nn
    try:
        with warnings.catch_warnings():
            # torch's "Using padding='same' with even kernel lengths and odd dilation may
            # require a zero-padded copy", a zero-size kernel's "Initializing zero-element ..."
            warnings.simplefilter("ignore", UserWarning)
            layer = getattr(nn, pg.LAYERS[config["layer"]])(**layer_kwargs(config))
            x = lib.zeros(1, config["channels"], *config["input"])
            if config["layer"] == "max_unpool":
                y = layer(x, lib.zeros(x.shape, dtype=lib.int64))
            else:
                y = layer(x)
        return "ok", list(y.shape)
    except (ValueError, RuntimeError) as e:
        return type(e).__name__, str(e)


def random_config(rng: random.Random) -> dict:
    """A configuration within the page's ranges; half of them from the small end, where most
    configurations are valid, so both outcomes are well represented."""
    layer = rng.choice(FAMILIES)
    small = rng.random() < 0.5
    lo_hi = {k: (lo, min(hi, lo + 2) if small and k != "kernel_size" else hi)
             for k, (lo, hi) in pg.RANGES.items()}
    draw = lambda k: rng.randint(*lo_hi[k])  # noqa: E731
    pair = lambda k: [draw(k)] * 2 if rng.random() < 0.5 else [draw(k), draw(k)]  # noqa: E731
    config = {"layer": layer, "channels": draw("channels"),
              "input": [rng.randint(*pg.RANGES["height"]), rng.randint(*pg.RANGES["width"])]}
    for k in pg.layer_knobs()[layer]:
        if k == "ceil_mode":
            config[k] = rng.random() < 0.5
        elif k in pg.PER_AXIS:
            config[k] = pair(k)
        else:
            config[k] = draw(k)
    if layer == "conv" and rng.random() < 0.3:       # Conv2d's padding='same' / 'valid'
        config["padding"] = rng.choice(["same", "valid"])
        if rng.random() < 0.7:                       # 'same' needs stride 1
            config["stride"] = [1, 1]
    return config


def random_configs(n: int, seed: int = 0) -> list:
    rng = random.Random(seed)
    return [random_config(rng) for _ in range(n)]


def _template_regex(text: str) -> re.Pattern:
    parts = re.split(r"\{\w+\}", text)
    return re.compile("-?\\d+".join(re.escape(p) for p in parts) + r"\Z")


# -- what the page embeds is ember's ------------------------------------------------------------

def test_layer_arguments_are_the_constructors():
    """Each layer's controls are exactly the page's knobs its ember class takes, and torch's class
    takes the same ones (e.g. AvgPool2d has no dilation, only ConvTranspose2d output_padding)."""
    knobs = pg.layer_knobs()
    assert knobs["avg_pool"] == ["kernel_size", "stride", "padding", "ceil_mode"]
    assert "output_padding" in knobs["conv_transpose"] and "output_padding" not in knobs["conv"]
    for family, cls in pg.LAYERS.items():
        torch_params = inspect.signature(getattr(torch.nn, cls)).parameters
        assert knobs[family] == [k for k in pg.KNOBS if k in torch_params], family


# One configuration per message template, and the values its slots must show.
_TEMPLATE_CASES = {
    "in_channels_groups": dict(layer="conv", channels=3, input=[5, 5], out_channels=4,
                               kernel_size=[3, 3], groups=2),
    "out_channels_groups": dict(layer="conv_transpose", channels=4, input=[5, 5], out_channels=3,
                                kernel_size=[3, 3], groups=2),
    "same_strided": dict(layer="conv", channels=1, input=[5, 5], out_channels=1,
                         kernel_size=[3, 3], stride=[1, 2], padding="same"),
    "conv_kernel_too_large": dict(layer="conv", channels=1, input=[3, 4], out_channels=1,
                                  kernel_size=[5, 2], padding=[0, 1], dilation=[1, 2]),
    "output_padding": dict(layer="conv_transpose", channels=1, input=[3, 3], out_channels=1,
                           kernel_size=[3, 3], stride=[2, 2], output_padding=[1, 2],
                           dilation=[1, 1]),
    "transpose_output_too_small": dict(layer="conv_transpose", channels=1, input=[1, 2],
                                       out_channels=1, kernel_size=[1, 3], padding=[1, 0]),
    "pool_pad_effective": dict(layer="avg_pool", channels=1, input=[5, 5], kernel_size=[2, 2],
                               padding=[2, 0]),
    "pool_pad_half": dict(layer="max_pool", channels=2, input=[9, 9], kernel_size=[3, 2],
                          padding=[1, 2], dilation=[1, 4]),
    "pool_output_too_small": dict(layer="max_pool", channels=3, input=[2, 6], kernel_size=[5, 1],
                                  padding=[1, 0]),
    "unpool_negative": dict(layer="max_unpool", channels=1, input=[4, 1], kernel_size=[2, 1],
                            padding=[0, 1]),
}


def test_every_template_is_ember_and_torch_message():
    """Each template's text, with numbers in its slots, is the message ember raises (and the
    same exception type); torch raises too."""
    templates = pg.message_templates()
    assert set(templates) == set(_TEMPLATE_CASES)
    for key, config in _TEMPLATE_CASES.items():
        kind, message = outcome(ember, config)
        assert kind == templates[key]["type"], (key, kind, message)
        assert _template_regex(templates[key]["text"]).match(message), (key, message)
        assert outcome(torch, config)[0] != "ok", key


def _matching_template(kind, message):
    for key, t in pg.message_templates().items():
        if t["type"] == kind and _template_regex(t["text"]).match(message):
            return key
    return None


@st.composite
def _configs(draw):
    return random_config(random.Random(draw(st.integers(0, 2 ** 32 - 1))))


@settings(max_examples=120, deadline=None)
@given(_configs())
def test_every_error_over_the_ranges_has_a_template(config):
    """Whatever ember raises for a configuration the page can set, the page has that message."""
    kind, message = outcome(ember, config)
    if kind != "ok":
        assert _matching_template(kind, message), (config, kind, message)


def test_ranges_start_at_the_smallest_legal_value():
    """Sliders start where ember's layers start accepting: one below raises."""
    base = dict(layer="conv", channels=2, input=[6, 6], out_channels=2, kernel_size=[3, 3],
                stride=[1, 1], padding=[0, 0], dilation=[1, 1], groups=1)
    assert outcome(ember, base)[0] == "ok"
    for knob in ("kernel_size", "stride", "padding", "dilation", "groups"):
        lo = pg.RANGES[knob][0]
        value = [lo, lo] if knob in pg.PER_AXIS else lo
        assert outcome(ember, {**base, knob: value})[0] == "ok", knob
        below = [lo - 1, lo - 1] if knob in pg.PER_AXIS else lo - 1
        assert outcome(ember, {**base, knob: below})[0] != "ok", knob


# -- the file ------------------------------------------------------------------------------------

def _embedded_data(html: str) -> dict:
    m = re.search(r'<script type="application/json" id="ember-data">(.*?)</script>', html, re.S)
    return json.loads(m.group(1))


def test_page_is_one_offline_file(tmp_path):
    path = pg.write_playground(tmp_path / "sub" / "playground.html")
    html = path.read_text(encoding="utf-8")
    assert _embedded_data(html) == json.loads(json.dumps(pg.page_data()))
    # nothing fetched: no URL, no external script or stylesheet, no import
    assert not re.search(r"(https?:)?//[\w.-]+\.\w+/", html.replace("\\/", "/"))
    assert not re.search(r"<(script|link|img|iframe)[^>]+(src|href)=", html, re.I)
    assert "import(" not in html and "fetch(" not in html
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert list(tmp_path.joinpath("sub").iterdir()) == [path]     # no temporary file left


def test_page_ships_with_the_package():
    """The page's parts are package data (pyproject's ember.explain data/*)."""
    import importlib.resources
    data = importlib.resources.files("ember.explain") / "data"
    assert (data / "playground.html").is_file() and (data / "playground.js").is_file()


def test_cli_writes_the_page(tmp_path, capsys):
    assert explain_main(["playground", "-o", str(tmp_path / "p.html")]) == 0
    assert (tmp_path / "p.html").read_text(encoding="utf-8") == pg.playground_html()
    assert explain_main(["playground", "-o", str(tmp_path)]) == 0
    assert (tmp_path / "playground.html").is_file()
    assert "wrote" in capsys.readouterr().out
    (tmp_path / "a_file").write_text("x")
    with pytest.raises(SystemExit) as exit_:                  # an error line, no traceback
        explain_main(["playground", "-o", str(tmp_path / "a_file" / "p.html")])
    assert exit_.value.code == 2 and "cannot write" in capsys.readouterr().err


def test_outcomes_of_ember_and_torch_agree_on_the_helpers():
    """The helpers the browser test trusts: ember and torch agree (shape or error/no-error)
    on a sample of the page's configurations, and torch's message is ember's."""
    mismatched = []
    for config in random_configs(150, seed=1):
        e, t = outcome(ember, config), outcome(torch, config)
        assert (e[0] == "ok") == (t[0] == "ok"), (config, e, t)
        if e[0] == "ok":
            assert e == t, config
        elif e[1] != t[1]:
            mismatched.append((config, e[1], t[1]))
    assert not mismatched, mismatched[:3]


def test_pool_pad_half_message_is_torchs():
    config = _TEMPLATE_CASES["pool_pad_half"]
    assert outcome(ember, config) == outcome(torch, config)


def test_random_configs_cover_both_outcomes_and_every_template():
    """The browser test's sample reaches every message and plenty of valid layers."""
    outcomes = [outcome(ember, c) for c in random_configs(BROWSER_SAMPLE)]
    ok = sum(kind == "ok" for kind, _ in outcomes)
    keys = {_matching_template(*o) for o in outcomes if o[0] != "ok"}
    assert ok > len(outcomes) // 4 and len(outcomes) - ok > len(outcomes) // 4
    assert keys == set(pg.message_templates())


def ones_overlap(config) -> np.ndarray:
    """Kernel taps per output cell of a transposed convolution: ember's conv_transpose2d of a
    ones input with a ones kernel."""
    import ember.nn.functional as F
    x = ember.ones(1, 1, *config["input"], dtype=ember.float64)
    w = ember.ones(1, 1, *config["kernel_size"], dtype=ember.float64)
    return F.conv_transpose2d(x, w, None, tuple(config["stride"]), tuple(config["padding"]),
                              tuple(config["output_padding"]), 1,
                              tuple(config["dilation"])).numpy()[0, 0]
