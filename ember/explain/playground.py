"""``ember explain playground``: one offline HTML page to try the sizes of convolution and pooling.

Sliders pick a 2-d layer (Conv2d, ConvTranspose2d, MaxPool2d, AvgPool2d, MaxUnpool2d) and its
arguments; the page shows the output shape with the formula worked through, ember's own error
when the configuration is impossible, a canvas animation of the window sliding over the padded
input (ceil-mode overhang drawn), the matrix ``C`` for tiny sizes (``C^T`` for the transposed
convolution) and the overlap counts (the checkerboard) of a transposed convolution.

The page's JavaScript ports the rules of :mod:`ember.nn._shapes`; what can be taken from
ember instead of being written twice is generated here and embedded as JSON, so it cannot
drift:

* the error messages: ember's checks are run on sentinel values and the numbers in their
  messages are replaced by named slots (:func:`message_templates`);
* the arguments each layer takes: read from the signatures of ``ember.nn``'s classes;
* the symbolic formulas: those of :mod:`ember.explain.sizes`.

The page calls no server and loads nothing: scripts and styles are inline. Its pure function
``window.emberPlayground.compute(config)`` is what the tests run against ember and torch.
"""
from __future__ import annotations

import inspect
import json
import os
import pathlib
import re
import tempfile

from ember import nn
from ember.explain.sizes import _FORMULAS
from ember.nn import _shapes

__all__ = ["LAYERS", "RANGES", "layer_knobs", "message_templates", "page_data", "playground_html",
           "write_playground"]

# The page's layer families and the ember.nn class each one builds.
LAYERS = {"conv": "Conv2d", "conv_transpose": "ConvTranspose2d", "max_pool": "MaxPool2d",
          "avg_pool": "AvgPool2d", "max_unpool": "MaxUnpool2d"}

# Constructor arguments the page has controls for (a layer gets those its signature has),
# and the slider ranges: wide enough to reach every error the layers raise for sizes.
KNOBS = ("out_channels", "kernel_size", "stride", "padding", "dilation", "output_padding",
         "groups", "ceil_mode")
PER_AXIS = ("kernel_size", "stride", "padding", "dilation", "output_padding")
RANGES = {"channels": (1, 8), "height": (1, 24), "width": (1, 24), "out_channels": (1, 8),
          "kernel_size": (1, 9), "stride": (1, 6), "padding": (0, 6), "dilation": (1, 4),
          "output_padding": (0, 5), "groups": (1, 4)}

# The matrix view is drawn up to this many rows and columns (one channel).
MATRIX_LIMIT = 49

_DATA_DIR = pathlib.Path(__file__).with_name("data")


def layer_knobs() -> dict:
    """``{family: [argument, ...]}``: the page's controls that each layer's constructor takes."""
    out = {}
    for family, cls in LAYERS.items():
        params = inspect.signature(getattr(nn, cls)).parameters
        out[family] = [k for k in KNOBS if k in params]
    return out


# -- error messages, taken from ember ---------------------------------------------------------

def _template(slots: dict, check, *args, **kwargs) -> dict:
    """Run ``check`` (an ember check that must raise) and turn its message into a template:
    each number in it is one of the sentinel values in ``slots`` and becomes ``{slot}``."""
    try:
        check(*args, **kwargs)
    except (ValueError, RuntimeError) as e:
        message = str(e)

        def slot(m):
            value = int(m.group())
            if value not in slots:
                raise RuntimeError(f"ember's message {message!r} holds {value}, which is none of "
                                   f"the sentinels {sorted(slots)}: the playground cannot template it")
            return "{" + slots[value] + "}"
        text = re.sub(r"(?<!\d)-?\d+", slot, message)
        missing = [name for name in slots.values() if "{" + name + "}" not in text]
        if missing:
            raise RuntimeError(f"ember's message {message!r} no longer shows {missing}")
        return {"type": type(e).__name__, "text": text}
    raise RuntimeError(f"{check.__name__}{args} was expected to raise, and did not")


def message_templates() -> dict:
    """The messages of every error a playground configuration can meet, from ember's own
    checks (the ones its layers call), with ``{name}`` slots the page fills in."""
    t = _template
    conv = _shapes.check_conv_shapes
    pool = _shapes.check_pool_args
    return {
        "in_channels_groups": t({}, nn.Conv2d, 3, 2, 1, groups=2),
        "out_channels_groups": t({}, nn.Conv2d, 2, 3, 1, groups=2),
        "same_strided": t({}, nn.Conv2d, 1, 1, 3, stride=2, padding="same"),
        # padded (1000+2*10) x (2000+2*20) against dilated kernels 3*599+1 and 5*699+1
        "conv_kernel_too_large": t({1020: "padded0", 2040: "padded1", 1798: "span0",
                                    3496: "span1"},
                                   conv, (1, 1, 1000, 2000), (1, 1, 600, 700), None, (1, 1),
                                   ((10, 10), (20, 20)), (3, 5), 1),
        "output_padding": t({23: "output_padding0", 29: "output_padding1", 11: "stride0",
                             13: "stride1", 17: "dilation0", 19: "dilation1"},
                            conv, (1, 1, 5, 5), (1, 1, 3, 3), None, (11, 13), ((0, 0), (0, 0)),
                            (17, 19), 1, transposed=True, output_padding=(23, 29)),
        # (31-1) - 2*1001 + 2 + 1 and (37-1) - 2*1003 + 2 + 1
        "transpose_output_too_small": t({31: "input0", 37: "input1", -1969: "output0",
                                         -1967: "output1"},
                                        conv, (1, 1, 31, 37), (1, 1, 3, 3), None, (1, 1),
                                        ((1001, 1001), (1003, 1003)), (1, 1), 1, transposed=True,
                                        output_padding=(0, 0)),
        "pool_pad_effective": t({3701: "pad", 1001: "kernel", 7: "dilation"},
                                pool, (1001, 1003), (1, 1), (3701, 0), (7, 7)),
        "pool_pad_half": t({701: "pad0", 703: "pad1", 1001: "kernel0", 1003: "kernel1"},
                           pool, (1001, 1003), (1, 1), (701, 703), (7, 7)),
        # 11 - 23 + 1 and 13 - 29 + 1
        "pool_output_too_small": t({5: "channels", 11: "input0", 13: "input1", -11: "output0",
                                    -15: "output1"},
                                   _shapes.pool_output_shape, (1, 5, 11, 13), (23, 29), (1, 1),
                                   (0, 0), (1, 1), False),
        # dim 1: (3-1)*1 - 2*1003 + 2
        "unpool_negative": t({1: "dim", -2002: "value"},
                             _shapes.unpool_output_shape, (1, 1, 3, 3), (2, 2), (1, 1), (0, 1003)),
    }


# -- the page ---------------------------------------------------------------------------------

def page_data() -> dict:
    """Everything the page's script takes from ember, as one JSON-able dict."""
    return {
        "layers": {family: {"cls": cls, "knobs": knobs}
                   for (family, cls), knobs in zip(LAYERS.items(), layer_knobs().values())},
        "per_axis": list(PER_AXIS),
        "ranges": {k: list(v) for k, v in RANGES.items()},
        "formulas": dict(_FORMULAS),
        "messages": message_templates(),
        "matrix_limit": MATRIX_LIMIT,
    }


def _json_for_script(value) -> str:
    # '</' inside a <script> block would end it early
    return json.dumps(value, indent=1, sort_keys=True).replace("</", "<\\/")


def playground_html() -> str:
    """The page, one self-contained HTML document."""
    page = (_DATA_DIR / "playground.html").read_text(encoding="utf-8")
    script = (_DATA_DIR / "playground.js").read_text(encoding="utf-8")
    page = page.replace("/*EMBER_DATA*/", _json_for_script(page_data()))
    return page.replace("/*EMBER_SCRIPT*/", script.replace("</", "<\\/"))


def write_playground(path) -> pathlib.Path:
    """Write the page to ``path`` (atomically: a temporary file, then a rename)."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(playground_html())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    return path
