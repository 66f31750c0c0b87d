"""``ember explain report``: one self-contained HTML page about one model.

The page holds, for a model and an input shape:

* the layers as a table and as a diagram: input and output shapes, the size formula with the
  numbers filled in, parameters, multiply-adds, activation memory and the receptive field
  (size, jump, start: :mod:`ember.explain.receptive`) - the numbers are
  :func:`~ember.explain.summary.summary`'s, the same as ``ember explain summary`` prints;
* for each convolution its weights as images and its matrix form ``C`` and ``C^T``
  (:mod:`ember.explain.matrix`): the layer's own when it is small, else its first filter on a
  small input;
* with a photo, each convolution's and pooling layer's feature maps (the first channels and
  the most active ones) and the model's top outputs;
* the activation functions used, with their derivatives by ember's autograd
  (:mod:`ember.explain.curves`), drawn as inline SVG;
* links from each layer to the section on its family, which points to ember's docs.

Everything is inline (PNG images as base64, SVG, CSS, a little JavaScript for the search box):
the file opens offline, from a mail attachment or a phone. A model that fails on the input
gives a page that says where and why (the layer, its input shape, ember's error and, for
convolution and pooling, the size formula that does not fit) instead of a traceback; sizes
that would need more memory than ``max_bytes`` are refused before anything is allocated.
"""
from __future__ import annotations

import base64
import dataclasses
import html
import inspect
import io
import os
import re

import numpy as np

from ember.explain.limits import DEFAULT_MAX_BYTES, MemoryLimitError, check_memory
from ember.explain.receptive import receptive_field
from ember.explain.sizes import SizeError
from ember.explain.summary import _shape_of, eval_mode, explain_module, run_hooked, summary

__all__ = ["Report", "ReportFailure", "build_report", "report_html", "write_report",
           "load_input_image", "layer_family", "FAMILIES"]

FIRST_CHANNELS = 8          # feature maps and filters shown per layer
TOP_CHANNELS = 4            # the most active channels shown besides the first ones
MATRIX_LIMIT = 64           # a conv whose C has at most this many rows and columns is shown whole
TILE_PIXELS = 40            # feature-map tiles and weight tiles are scaled up to about this size

# family -> (title, what the family does, ember's docs page for it)
FAMILIES = {
    "conv": ("Convolution", "slides a learned kernel over the input; output size "
             "floor((in + 2p - d(k-1) - 1)/s) + 1, weight (C_out, C_in/groups, *kernel)",
             "explain.md#output-sizes-formula-written-out"),
    "conv_transpose": ("Transposed convolution", "the transpose of a convolution's matrix: "
                       "maps a small map back to a large one (upsampling with learned weights)",
                       "explain.md#convolution-is-a-matrix-the-transposed-convolution-is-its-transpose"),
    "pool": ("Pooling", "max, average or Lp norm of each window; no parameters",
             "explain.md#animations"),
    "adaptive_pool": ("Adaptive pooling", "pooling to a fixed output size: bin i covers "
                      "[floor(i*in/out), ceil((i+1)*in/out))", "explain.md#animations"),
    "activation": ("Activation", "a non-linear function applied to each element",
                   "activations.md"),
    "linear": ("Linear", "y = x W^T + b on the last axis; multiply-adds = outputs x in_features",
               "explain.md#a-model-layer-by-layer"),
    "normalization": ("Normalization", "shifts and scales by statistics (of the batch, the "
                      "layer or a group), then a learned affine map",
                      "explain.md#a-model-layer-by-layer"),
    "dropout": ("Dropout", "zeroes random elements while training; the identity in eval mode",
                "reproducibility.md"),
    "reshape": ("Reshaping", "Flatten, Unflatten, PixelShuffle, padding: moves elements, "
                "computes nothing", "explain.md#a-model-layer-by-layer"),
    "upsample": ("Upsampling", "interpolates to a larger size (nearest, bilinear, ...)",
                 "torch_api_coverage.md#layers-beyond-cnns-issue-12"),
    "recurrent": ("Recurrent and attention", "RNN, LSTM, GRU, attention: layers over sequences",
                  "torch_api_coverage.md#layers-beyond-cnns-issue-12"),
    "container": ("Containers and blocks", "Sequential, and the model's own modules: they "
                  "hold layers and call them in their forward", "explain.md#a-model-layer-by-layer"),
    "other": ("Other layers", "layers without a family page yet", "torch_api_coverage.md"),
}

_FAMILY_PATTERNS = (
    ("conv_transpose", r"(Lazy)?ConvTranspose[123]d"),
    ("conv", r"(Lazy)?Conv[123]d"),
    ("adaptive_pool", r"Adaptive(Max|Avg)Pool[123]d"),
    ("pool", r"(Max|Avg|LP|FractionalMax)Pool[123]d|MaxUnpool[123]d"),
    ("activation", r"ReLU6?|LeakyReLU|PReLU|RReLU|ELU|SELU|CELU|GELU|SiLU|Mish|Sigmoid|Tanh|"
                   r"Hardtanh|Hardsigmoid|Hardswish|Hardshrink|Softshrink|Softplus|Softsign|"
                   r"LogSigmoid|Tanhshrink|Threshold|GLU|Softmax2?d?|LogSoftmax|Softmin"),
    ("linear", r"(Lazy)?Linear|Bilinear|Identity|Embedding(Bag)?"),
    ("normalization", r"(Lazy)?(BatchNorm|InstanceNorm)[123]d|LayerNorm|GroupNorm|RMSNorm|"
                      r"LocalResponseNorm|CrossMapLRN2d|SyncBatchNorm"),
    ("dropout", r"(Alpha|FeatureAlpha)?Dropout[123]?d?"),
    ("reshape", r"Flatten|Unflatten|Pixel(Un)?[Ss]huffle|ChannelShuffle|Fold|Unfold|"
                r"(Zero|Constant|Reflection|Replication|Circular)Pad[123]d"),
    ("upsample", r"Upsample|UpsamplingNearest2d|UpsamplingBilinear2d"),
    ("recurrent", r"(RNN|LSTM|GRU)(Cell)?|MultiheadAttention|Transformer\w*"),
)


def layer_family(type_name: str, is_leaf: bool = True) -> str:
    """The key in :data:`FAMILIES` of a layer class name (``"Conv2d"`` -> ``"conv"``)."""
    for family, pattern in _FAMILY_PATTERNS:
        if re.fullmatch(pattern, type_name):
            return family
    return "other" if is_leaf else "container"


# ---------------------------------------------------------------------------------------------
# what the page shows

@dataclasses.dataclass
class ReportFailure:
    """Where and why the model failed on the input."""

    layer: str                # the innermost module that raised ("" for the model's own code)
    type: str
    input_shape: tuple | None
    error: str                # "RuntimeError: ..." as ember raised it
    explanation: list         # the size formula up to where it does not fit (conv/pool)
    path: list                # the modules the failing one is inside, outermost first
    ran: list                 # (name, type, input shape, output shape) of the layers that ran


@dataclasses.dataclass
class MatrixView:
    """A convolution as a matrix C (conv(x) = C @ x), the layer's own or its first filter's."""

    matrix: np.ndarray
    input_shape: tuple        # (C_in, *spatial) of the matrix's input
    output_shape: tuple
    whole_layer: bool         # False: the first filter on a small input
    real_rows: int            # C's size for the real layer on its real input
    real_cols: int
    real_nonzeros: int
    probe_error: float        # max |C - ember's conv applied to each basis vector|


@dataclasses.dataclass
class ConvView:
    name: str
    type: str
    weight_shape: tuple
    weights_png: str | None   # data URI
    weights_caption: str
    matrix: MatrixView | None
    matrix_note: str
    matrix_png: str | None
    matrix_t_png: str | None


@dataclasses.dataclass
class FeatureView:
    name: str
    type: str
    shape: tuple
    tiles: list               # (channel, data URI, mean, max) of the first channels
    top: list                 # (channel, data URI, mean, max, (row, col) of the max) by mean
    seen: tuple | None = None       # ((first row, last row), (first col, last col)) of the
    seen_png: str | None = None     # input the most active channel's maximum sees, drawn


@dataclasses.dataclass
class Report:
    model_name: str
    input_shape: tuple
    dtype: str
    summary: object = None                 # ember.explain.summary.Summary
    fields: dict = dataclasses.field(default_factory=dict)   # name -> LayerField
    failure: ReportFailure | None = None
    convs: list = dataclasses.field(default_factory=list)
    activations: list = dataclasses.field(default_factory=list)   # (module type, Curve)
    features: list = dataclasses.field(default_factory=list)
    image_png: str | None = None
    outputs_top: list = dataclasses.field(default_factory=list)   # (index, value, probability)
    notes: list = dataclasses.field(default_factory=list)         # what could not be drawn
    sources: dict = dataclasses.field(default_factory=dict)       # leaf -> the leaf its input came from


def build_report(model, input_size, *, name=None, image=None, mean=None, std=None,
                 max_bytes=DEFAULT_MAX_BYTES) -> Report:
    """Run ``model`` (in eval mode) on zeros of shape ``input_size`` and gather the page.

    ``image``: a photo to run through the model instead, for the feature maps: a path (see
    :func:`load_input_image`) or an array of shape ``input_size`` in [0, 1]; ``mean`` and
    ``std`` (one value per channel) normalise it first, as ``transforms.Normalize`` (e.g.
    ImageNet's for torchvision's pretrained weights).
    ``max_bytes``: refuse (:class:`~ember.explain.limits.MemoryLimitError`) before allocating
    when the input, a layer or the receptive-field pass would need more.
    A model that raises on the input gives a report with ``failure`` set."""
    input_size = tuple(int(v) for v in input_size)
    if image is not None and not isinstance(image, np.ndarray):
        image = load_input_image(image, input_size)      # a bad photo fails before the model runs
    scale = _normalization(mean, std, input_size) if image is not None else None
    dtype = _model_dtype(model)
    report = Report(name or type(model).__name__, input_size, str(dtype).replace("ember.", ""))
    # batch norm uses its running statistics, dropout is off: one fixed function, and the
    # caller's model is left as it was
    with eval_mode(model):
        _gather(report, model, input_size, image, scale, dtype, max_bytes)
    return report


def _gather(report, model, input_size, image, scale, dtype, max_bytes):
    try:
        report.summary = summary(model, input_size, explain=True, dtype=dtype, max_bytes=max_bytes)
    except MemoryLimitError:
        raise
    except Exception as e:  # noqa: BLE001 - the model's own code decides what it raises
        report.failure = _locate_failure(model, input_size, dtype, e)
        return
    s = report.summary
    check_memory("the receptive-field pass (a forward pass keeping its graph)",
                 2 * (s.input_bytes + s.activation_bytes), max_bytes)
    try:
        report.fields = {f.name: f for f in receptive_field(model, input_size, dtype=dtype)}
    except Exception as e:  # noqa: BLE001 - the rest of the page is still worth having
        report.notes.append(f"receptive fields not computed: {type(e).__name__}: {e}")
    report.sources = _input_sources(model, input_size, dtype)
    report.convs = _conv_views(model, s, report.notes)
    report.activations = _activation_curves(model)
    if image is not None:
        _add_features(report, model, image, scale, dtype)


def _normalization(mean, std, input_size):
    """(mean, std) as arrays broadcasting over (N, C, H, W), checked like Normalize's."""
    if mean is None and std is None:
        return None
    channels = input_size[1]
    mean = np.asarray(0.0 if mean is None else mean, dtype=np.float64).reshape(-1)
    std = np.asarray(1.0 if std is None else std, dtype=np.float64).reshape(-1)
    for what, values in (("mean", mean), ("std", std)):
        if len(values) not in (1, channels):
            raise ValueError(f"{what} needs 1 or {channels} values (one per channel), got "
                             f"{len(values)}")
    if np.any(std == 0):
        raise ValueError(f"std evaluated to zero after conversion to float64, leading to "
                         f"division by zero: {std.tolist()}")
    return mean.reshape(1, -1, 1, 1), std.reshape(1, -1, 1, 1)


def _model_dtype(model):
    import ember
    for p in model.parameters():
        return p.dtype
    return ember.get_default_dtype()


def _locate_failure(model, input_size, dtype, error) -> ReportFailure:
    """Run the model again under hooks: the modules entered and not left when the error came
    are the path to the failing layer (the innermost one raised)."""
    import ember

    names = {id(m): name for name, m in model.named_modules()}
    stack, ran = [], []

    def pre_hook(module, args):
        stack.append((module, _shape_of(args[0]) if args else None))

    def hook(module, args, output):
        entered = stack.pop()
        if not any(True for _ in module.children()):
            ran.append((names.get(id(module), ""), type(module).__name__, entered[1], _shape_of(output)))

    try:
        run_hooked(model, ember.zeros(input_size, dtype=dtype), pre_hook, hook)
    except Exception as e:  # noqa: BLE001 - the same error as before, now with its place
        error = e
    module, shape = stack[-1] if stack else (model, input_size)
    explanation = []
    if shape is not None:
        try:
            explain_module(module, shape)
        except SizeError as e:
            explanation = e.lines + [f"error: {e}"]
        except (ValueError, TypeError):
            pass
    return ReportFailure(names.get(id(module), ""), type(module).__name__, shape,
                         f"{type(error).__name__}: {error}", explanation,
                         [(names.get(id(m), ""), type(m).__name__) for m, _ in stack[:-1]], ran)


def _input_sources(model, input_size, dtype):
    """For each leaf layer, the leaf whose output it took ("input": the model's input; None:
    a tensor made by an operation in some forward, e.g. a shortcut's addition) - the diagram
    shows where the data flow branches. Tensors are told apart by identity, so every output
    is kept alive until the pass ends (its memory is the receptive-field pass's)."""
    import ember

    names = {id(m): name for name, m in model.named_modules()}
    x = ember.zeros(input_size, dtype=dtype)
    made_by, keep, sources = {id(x): "input"}, [x], {}

    def pre_hook(module, args):
        if args and not any(True for _ in module.children()):
            sources.setdefault(names.get(id(module), ""), made_by.get(id(args[0])))

    def hook(module, args, output):
        out = output[0] if isinstance(output, (tuple, list)) and output else output
        if not any(True for _ in module.children()):
            made_by[id(out)] = names.get(id(module), "")   # in place: the tensor is now this
            keep.append(out)

    run_hooked(model, x, pre_hook, hook)
    return sources


# ---------------------------------------------------------------------------------------------
# convolutions: weights and matrix

def _conv_views(model, s, notes):
    modules = dict(model.named_modules())
    views = []
    for info in s.layers:
        if not re.fullmatch(r"(Lazy)?Conv(Transpose)?[123]d", info.type) or info.input_shape is None:
            continue
        module = modules[info.name]
        weight = module.weight.detach().numpy()
        png, caption = _weights_picture(weight, info.type.startswith("ConvTranspose"))
        view = ConvView(info.name, info.type, tuple(weight.shape), png, caption, None, "", None, None)
        if "Transpose" in info.type:
            view.matrix_note = ("a transposed convolution multiplies by C^T of the convolution "
                                "with the same weight: see the convolutions' matrices")
        else:
            _add_matrix(view, module, weight, info.input_shape)
        views.append(view)
    if views and views[0].weights_png is None:
        notes.append("pictures (weights, matrices, feature maps) need Pillow: "
                     "pip install 'ember[explain]'")
    return views


def _weights_picture(weight, transposed):
    """The first filters (rows) by their first input channels (columns) as tiles, one colour
    scale for the layer (red positive, blue negative); a first layer on RGB shows each filter
    as one colour tile. 1-d kernels are strips, 3-d ones their middle depth slice."""
    w = np.asarray(weight, dtype=np.float64)
    if transposed:
        w = w.swapaxes(0, 1)        # (C_in, C_out/g, k) -> one row per output channel
    if w.ndim == 3:
        w = w[:, :, None, :]
    elif w.ndim == 5:
        w = w[:, :, w.shape[2] // 2]
    filters, inputs = min(w.shape[0], FIRST_CHANNELS), min(w.shape[1], FIRST_CHANNELS)
    scale = max(1, TILE_PIXELS // max(w.shape[2:]))
    if w.shape[1] == 3 and not transposed:
        tiles = [_rgb_tile(w[f]) for f in range(filters)]
        caption = (f"the first {filters} of {w.shape[0]} filters, each as a colour image of "
                   "its R, G, B slices (scaled per filter)")
        return _png(_grid([tiles], scale)), caption
    limit = float(np.abs(w[:filters, :inputs]).max()) or 1.0
    rows = [[_diverging(w[f, c], limit) for c in range(inputs)] for f in range(filters)]
    caption = (f"rows: the first {filters} of {w.shape[0]} output channels; columns: their "
               f"first {inputs} of {w.shape[1]} input-channel slices; red positive, blue "
               f"negative, white 0 (|w| up to {limit:.3g})")
    return _png(_grid(rows, scale)), caption


def _add_matrix(view, module, weight, input_shape):
    """The layer's C when it is small, else its first filter's on an input that gives about
    3 outputs per axis, with the real C's size said in words."""
    from ember.explain.matrix import conv_matrix, conv_matrix_by_probing
    from ember.nn import _shapes

    n = weight.ndim - 2
    if module.padding_mode != "zeros":
        view.matrix_note = f"padding_mode={module.padding_mode!r}: C is not the zero-padded one (not drawn)"
        return
    k = tuple(weight.shape[2:])
    s, d = _shapes._ntuple(n, "stride")(module.stride), _shapes._ntuple(n, "dilation")(module.dilation)
    pairs = _shapes.conv_padding_pairs(module.padding, k, s, d)
    if any(left != right for left, right in pairs):
        view.matrix_note = "asymmetric 'same' padding: not drawn"
        return
    p = tuple(left for left, _ in pairs)
    spatial = tuple(input_shape[-n:])
    out = tuple(_shapes.conv_output_size(i, kk, ss, pp, dd) for i, kk, ss, pp, dd in zip(spatial, k, s, p, d))
    c_in, c_out, groups = input_shape[-n - 1], weight.shape[0], module.groups
    rows, cols = c_out * int(np.prod(out)), c_in * int(np.prod(spatial))
    nonzeros = c_out * (c_in // groups) * int(np.prod(
        [_taps_inside(i, o, kk, ss, pp, dd) for i, o, kk, ss, pp, dd in zip(spatial, out, k, s, p, d)]))
    if rows <= MATRIX_LIMIT and cols <= MATRIX_LIMIT:
        w, shape, whole = weight, (c_in,) + spatial, True
    else:
        w, groups, whole = weight[:1, :1], 1, False
        small = tuple(max(1, (3 - 1) * ss + dd * (kk - 1) + 1 - 2 * pp) for kk, ss, pp, dd in zip(k, s, p, d))
        shape = (1,) + small
        if int(np.prod(small)) > MATRIX_LIMIT ** 2:   # a large 3-d kernel: no picture to read
            view.matrix_note = (f"even one filter's C on a {list(small)} input has "
                                f"{int(np.prod(small)):,} columns: not drawn")
            return
    w = np.asarray(w, dtype=np.float64)
    C = conv_matrix(w, shape, s, p, d, groups)
    probe = conv_matrix_by_probing(w, shape, s, p, d, groups)
    out_small = tuple(_shapes.conv_output_size(i, kk, ss, pp, dd) for i, kk, ss, pp, dd in zip(shape[1:], k, s, p, d))
    view.matrix = MatrixView(C, shape, (w.shape[0],) + out_small, whole, rows, cols, nonzeros,
                             float(np.abs(C - probe).max()))
    limit = float(np.abs(C).max()) or 1.0
    cell = max(2, min(14, 560 // max(C.shape)))
    view.matrix_png = _png(_matrix_image(C, limit, cell))
    view.matrix_t_png = _png(_matrix_image(C.T, limit, cell))


def _taps_inside(size, out, k, s, p, d):
    """How many (output, tap) pairs along one axis land inside the input (not in padding)."""
    starts = np.arange(out)[:, None] * s - p + np.arange(k)[None, :] * d
    return int(((starts >= 0) & (starts < size)).sum())


def _matrix_image(M, limit, cell):
    rgb = _diverging(M, limit)
    rgb[M == 0] = (255, 255, 255)
    image = np.repeat(np.repeat(rgb, cell, axis=0), cell, axis=1)
    if cell >= 4:   # grid lines between cells
        image[::cell, :] = (215, 215, 215)
        image[:, ::cell] = (215, 215, 215)
    return image


# ---------------------------------------------------------------------------------------------
# feature maps

_FEATURE_LAYER = re.compile(r"(Lazy)?(Conv|ConvTranspose|MaxPool|AvgPool|LPPool|"
                            r"AdaptiveMaxPool|AdaptiveAvgPool)2d")


def _add_features(report, model, image, scale, dtype):
    """Run the photo (normalised by ``scale`` = (mean, std) when given) through the model;
    keep each conv/pool layer's first channels and the most active ones (highest mean), and
    the model's top outputs."""
    import ember

    x = np.asarray(image, dtype=np.float64)
    if x.shape != report.input_shape:
        raise ValueError(f"the image array has shape {list(x.shape)}, the input {list(report.input_shape)}")
    photo = (np.clip(x[0].transpose(1, 2, 0), 0, 1) * 255).astype(np.uint8)
    zoom = max(1, 160 // max(x.shape[2:]))
    report.image_png = _png(photo.squeeze(), zoom)
    if scale is not None:
        report.notes.append("the photo was normalised: (x - mean) / std with mean "
                            f"{scale[0].ravel().tolist()}, std {scale[1].ravel().tolist()}")
        x = (x - scale[0]) / scale[1]
    names = {id(m): name for name, m in model.named_modules()}
    captured, handles = [], []

    def hook(module, args, output):
        out = output[0] if isinstance(output, (tuple, list)) else output
        if _FEATURE_LAYER.fullmatch(type(module).__name__) and out.dim() == 4:
            captured.append(_feature_view(names.get(id(module), ""), type(module).__name__,
                                          out.detach().numpy()[0]))

    for _, module in model.named_modules():
        handles.append(module.register_forward_hook(hook))
    try:
        with ember.no_grad():
            y = model(ember.tensor(x, dtype=dtype))
    finally:
        for handle in handles:
            handle.remove()
    # one outlined photo per resolution (its last layer sees the most): a photo per layer
    # would make a DenseNet's page megabytes larger
    for view, following in zip(captured, captured[1:] + [None]):
        if following is None or following.shape[1:] != view.shape[1:]:
            _mark_field(view, report.fields.get(view.name), photo, zoom)
    report.features = captured
    y = y[0] if isinstance(y, (tuple, list)) else y
    if hasattr(y, "dim") and y.dim() == 2:
        logits = y.detach().numpy()[0].astype(np.float64)
        p = np.exp(logits - logits.max())
        p /= p.sum()
        top = np.argsort(-logits, kind="stable")[:5]
        report.outputs_top = [(int(i), float(logits[i]), float(p[i])) for i in top]


def _mark_field(view, layer_field, photo, zoom):
    """Where in the photo the most active channel's strongest output looks: its receptive
    field (clipped to the photo; the rest is padding) outlined on the photo."""
    if layer_field is None or not layer_field.defined or not view.top:
        return
    view.seen = layer_field.field.extent(view.top[0][4])
    rgb = np.repeat(photo, 3, axis=2) if photo.shape[2] == 1 else photo.copy()
    rgb = np.repeat(np.repeat(rgb, zoom, 0), zoom, 1)
    (top, bottom), (left, right) = view.seen
    h, w = rgb.shape[:2]
    top, left = max(top * zoom, 0), max(left * zoom, 0)
    bottom, right = min((bottom + 1) * zoom, h) - 1, min((right + 1) * zoom, w) - 1
    if top > bottom or left > right:
        return
    box = rgb[top:bottom + 1, left:right + 1]      # a view: drawing on it draws on rgb
    green = (0, 230, 64)                           # visible on photos and on grey
    box[:2], box[-2:], box[:, :2], box[:, -2:] = green, green, green, green
    view.seen_png = _png(rgb)


def load_input_image(path, input_shape):
    """The photo at ``path`` as (N, C, H, W) float64 in [0, 1] (no normalisation):
    centre-cropped to the input's aspect and resized to H x W; C = 1 (grey) or 3 (RGB); the
    same photo in every sample of the batch. Pillow's errors pass through (OSError for a file
    that is not an image); a shape that is not an image's is a ValueError."""
    from ember.explain.features import _require_pillow
    Image = _require_pillow()
    from PIL import ImageOps

    if len(input_shape) != 4 or input_shape[1] not in (1, 3):
        raise ValueError(f"--image needs an input shape (N, 1 or 3, H, W), got {list(input_shape)}")
    n, c, h, w = input_shape
    with Image.open(path) as im:
        im = ImageOps.fit(im.convert("RGB" if c == 3 else "L"), (w, h), Image.LANCZOS)
        a = np.asarray(im, dtype=np.float64) / 255.0
    a = a.transpose(2, 0, 1) if c == 3 else a[None]
    return np.broadcast_to(a, (n, c, h, w)).copy()


def _feature_view(name, kind, maps):
    maps = np.asarray(maps, dtype=np.float64)
    means = maps.mean(axis=(1, 2))
    scale = max(1, TILE_PIXELS // max(maps.shape[1:]))

    def tile(c):
        m = maps[c]
        return (int(c), _png(_inferno(m), scale), float(means[c]), float(m.max()))

    first = [tile(c) for c in range(min(FIRST_CHANNELS, len(maps)))]
    top = []
    for c in np.argsort(-means, kind="stable")[:TOP_CHANNELS]:
        where = np.unravel_index(int(np.argmax(maps[c])), maps[c].shape)
        top.append(tile(c) + (tuple(int(v) for v in where),))
    return FeatureView(name, kind, maps.shape, first, top)


# ---------------------------------------------------------------------------------------------
# activations

_ACTIVATION_FUNCTIONS = {
    "ReLU": "relu", "ReLU6": "relu6", "LeakyReLU": "leaky_relu", "ELU": "elu", "SELU": "selu",
    "CELU": "celu", "GELU": "gelu", "SiLU": "silu", "Mish": "mish", "Sigmoid": "sigmoid",
    "Tanh": "tanh", "Hardtanh": "hardtanh", "Hardsigmoid": "hardsigmoid",
    "Hardswish": "hardswish", "Softplus": "softplus", "Softsign": "softsign",
    "LogSigmoid": "logsigmoid", "Tanhshrink": "tanhshrink", "Softshrink": "softshrink",
    "Hardshrink": "hardshrink", "Threshold": "threshold", "RReLU": "rrelu", "PReLU": "leaky_relu",
}


def _activation_curves(model):
    """f and f' (ember's autograd) of each distinct activation (type and options) used."""
    from ember.explain.curves import activation_curve
    import ember.nn.functional as F

    seen, curves = set(), []
    for module in model.modules():
        kind = type(module).__name__
        name = _ACTIVATION_FUNCTIONS.get(kind)
        if name is None:
            continue
        if kind == "PReLU":   # a learned slope per channel: the first one's curve
            kwargs = {"negative_slope": float(module.weight.detach().numpy().ravel()[0])}
        else:
            params = list(inspect.signature(getattr(F, name)).parameters)[1:]
            kwargs = {p: getattr(module, p) for p in params
                      if p not in ("inplace", "training", "generator") and hasattr(module, p)}
        key = (kind, tuple(sorted(kwargs.items())))
        if key not in seen:
            seen.add(key)
            curves.append((kind, activation_curve(name, (-4.0, 4.0), num=321, **kwargs)))
    return curves


# ---------------------------------------------------------------------------------------------
# pictures: Pillow PNGs (no hand-written encoder); None when Pillow is missing

def _png(pixels, scale=1):
    """A uint8 (H, W) or (H, W, 3) array as a PNG data URI, each pixel ``scale`` x ``scale``."""
    try:
        from PIL import Image
    except ImportError:
        return None
    image = Image.fromarray(np.ascontiguousarray(pixels))
    if scale > 1:
        image = image.resize((image.width * scale, image.height * scale), Image.NEAREST)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _diverging(m, limit):
    """Blue (negative) - white (0) - red (positive), |m| = limit at full colour."""
    t = np.clip(np.asarray(m, dtype=np.float64) / limit, -1, 1)[..., None]
    white = np.array([255.0, 255.0, 255.0])
    red, blue = np.array([178.0, 24.0, 43.0]), np.array([33.0, 102.0, 172.0])
    rgb = np.where(t >= 0, white + (red - white) * t, white + (blue - white) * -t)
    return np.round(rgb).astype(np.uint8)


_INFERNO = np.array([[0, 0, 4], [87, 16, 110], [188, 55, 84], [249, 142, 9], [252, 255, 164]],
                    dtype=np.float64)   # five stops of matplotlib's 'inferno'


def _inferno(m):
    m = np.asarray(m, dtype=np.float64)
    lo, hi = float(m.min()), float(m.max())
    t = (m - lo) / (hi - lo) if hi > lo else np.zeros_like(m)
    stops = np.linspace(0, 1, len(_INFERNO))
    rgb = np.stack([np.interp(t, stops, _INFERNO[:, i]) for i in range(3)], axis=-1)
    return np.round(rgb).astype(np.uint8)


def _rgb_tile(w):
    w = np.asarray(w, dtype=np.float64).transpose(1, 2, 0)
    lo, hi = w.min(), w.max()
    return np.round((w - lo) / ((hi - lo) or 1.0) * 255).astype(np.uint8)


def _grid(rows, scale, gap=1):
    """Tiles (H, W, 3) in rows and columns with a white gap between (scaled before the gap)."""
    tiles = [[np.repeat(np.repeat(t, scale, 0), scale, 1) for t in row] for row in rows]
    h = max(t.shape[0] for row in tiles for t in row)
    w = max(t.shape[1] for row in tiles for t in row)
    n_cols = max(len(row) for row in tiles)
    out = np.full(((h + gap) * len(tiles) - gap, (w + gap) * n_cols - gap, 3), 255, np.uint8)
    for i, row in enumerate(tiles):
        for j, t in enumerate(row):
            out[i * (h + gap):i * (h + gap) + t.shape[0], j * (w + gap):j * (w + gap) + t.shape[1]] = t
    return out


# ---------------------------------------------------------------------------------------------
# the page

def write_report(report: Report, path) -> str:
    """Write the page to ``path`` atomically (a temporary file, then a rename; missing
    folders are made). Links to ember's docs are made relative to where the page is, when the
    docs are there to link to."""
    from ember.serialization import _atomic_write

    path = os.fspath(path)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    _atomic_write(path, report_html(report, docs_href=_docs_href(path)).encode("utf-8"))
    return path


def _docs_href(path):
    """The docs folder of a source checkout, relative to the page's folder (None: not found,
    e.g. an installed wheel - the page then names the docs file without a link)."""
    import ember
    docs = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(ember.__file__))), "docs")
    if not os.path.isfile(os.path.join(docs, "explain.md")):
        return None
    rel = os.path.relpath(docs, os.path.dirname(os.path.abspath(path)))
    return rel.replace(os.sep, "/") + "/"


def report_html(report: Report, docs_href=None) -> str:
    """The page as one HTML document. ``docs_href``: the prefix of links to ember's docs
    pages (e.g. ``"../docs/"``); None: the docs files are named, not linked."""
    title = f"{report.model_name} on {_dims(report.input_shape)}"
    if report.failure is not None:
        sections = [("failure", _failure_html(report))]
    else:
        sections = [("overview", _overview_html(report)), ("layers", _layers_html(report)),
                    ("diagram", _diagram_html(report)), ("features", _features_html(report)),
                    ("weights", _convs_html(report)), ("activations", _activations_html(report)),
                    ("families", _families_html(report, docs_href))]
    sections = [(key, part) for key, part in sections if part]
    nav = "" if report.failure is not None else (
        "<nav><input type=search id=search placeholder=\"search layers: name or type\" "
        "aria-label=\"search layers\"> "
        + " ".join(f"<a href=#{key}>{key}</a>" for key, _ in sections) + "</nav>")
    return (_HEAD.format(title=_e(f"ember report: {title}"), css=_CSS)
            + f"<header><h1>{_e(title)}</h1>"
            + f"<p class=sub>ember explain report &middot; input {_e(_dims(report.input_shape))}, "
            + f"{_e(report.dtype)}, eval mode</p>{nav}</header><main>"
            + "".join(part for _, part in sections) + "</main>"
            + "<footer>Made by <code>ember explain report</code>. Self-contained: no network, "
            + "no server; every picture is computed by ember's own layers.</footer>"
            + f"<script>{_SCRIPT}</script></body></html>\n")


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def _dims(shape) -> str:
    return "[" + ", ".join(str(v) for v in shape) + "]" if shape is not None else "--"


def _section(key, title, content, open_=True):
    return (f"<details class=section id={key}{' open' if open_ else ''}>"
            f"<summary><h2>{_e(title)}</h2></summary>{content}</details>")


def _bytes(n) -> str:
    for unit, size in (("MB", 1024 ** 2), ("KB", 1024)):
        if n >= size:
            return f"{n / size:.2f} {unit}"
    return f"{n} B"


def _overview_html(r):
    s = r.summary
    mb = 1024 ** 2
    rows = [("Total params", f"{s.total_params:,}", "total-params"),
            ("Trainable params", f"{s.trainable_params:,}", "trainable-params"),
            ("Non-trainable params", f"{s.total_params - s.trainable_params:,}", "frozen-params"),
            ("Total mult-adds", f"{s.total_mult_adds:,} ({s.total_mult_adds / 1e6:.2f} M)", "mult-adds"),
            ("Input size (MB)", f"{s.input_bytes / mb:.2f}", "input-mb"),
            ("Layer outputs (MB)", f"{s.activation_bytes / mb:.2f}", "activation-mb"),
            ("Params size (MB)", f"{s.param_bytes / mb:.2f}", "params-mb")]
    table = "".join(f"<tr><th>{_e(a)}</th><td id={key}>{_e(b)}</td></tr>" for a, b, key in rows)
    final = [f for f in r.fields.values() if f.defined]
    widest = max(final, key=lambda f: max(f.field.size), default=None)
    rf = (f"<p>Largest receptive field: <b>{_e(_rf_text(widest.field))}</b> at "
          f"<code>{_e(widest.name or widest.type)}</code> (an output pixel there sees this many "
          "input pixels, padding included).</p>") if widest else ""
    notes = "".join(f"<p class=note>{_e(n)}</p>" for n in r.notes)
    return _section("overview", "Overview",
                    f"<div class=scroll><table class=totals>{table}</table></div>{rf}{notes}"
                    "<p>The same numbers as <code>ember explain summary</code>: multiply-adds of "
                    "convolutions, transposed convolutions, linear, recurrent and attention layers "
                    "(bias additions and element-wise layers are not counted, as in torchinfo); "
                    "layer outputs: the leaf layers' outputs of one forward pass (backward keeps "
                    "about as much again).</p>")


def _rf_text(field):
    return " x ".join(map(str, field.size)) + " (jump " + " x ".join(map(str, field.jump)) + ")"


def _layers_html(r):
    s = r.summary
    itemsize = s.input_bytes // max(int(np.prod(s.input_shape)), 1)
    head = ("<tr><th>Layer</th><th>Type</th><th>Input</th><th>Output</th><th>Size formula</th>"
            "<th>Params</th><th>Mult-adds</th><th>Output<br>memory</th><th>Receptive field<br>"
            "<small>r / jump / start</small></th></tr>")
    rows = []
    for info in s.layers:
        family = layer_family(info.type, info.is_leaf)
        label = ("&nbsp;&nbsp;" * info.depth) + _e(info.name or "(model)")
        memory = (int(np.prod(info.output_shape)) * itemsize
                  if info.is_leaf and info.output_shape is not None else None)
        formula = "<br>".join(_e(line) for line in info.formula)
        search = _e((info.name + " " + info.type).lower())
        rows.append(
            f"<tr class=layer data-name=\"{_e(info.name)}\" data-search=\"{search}\">"
            f"<td class=name>{label}</td>"
            f"<td class=type><a href=#family-{family} title=\"{_e(FAMILIES[family][0])}\">"
            f"{_e(info.type)}</a></td>"
            f"<td class=in>{_e(_dims(info.input_shape))}</td>"
            f"<td class=out>{_e(_dims(info.output_shape))}</td>"
            f"<td class=formula>{formula}</td>"
            f"<td class=params>{f'{info.params:,}' if info.params else '--'}</td>")
        rows[-1] += (f"<td class=madds>{f'{info.mult_adds:,}' if info.mult_adds else '--'}</td>"
                     f"<td class=mem data-bytes={memory if memory is not None else ''}>"
                     f"{_bytes(memory) if memory is not None else '--'}</td>"
                     f"{_rf_cell(r.fields.get(info.name))}</tr>")
    return _section("layers", "Layers", "<p>Type a name or a type in the search box to filter. "
                    "The receptive field of a layer's output: <b>r</b> input pixels end to end, "
                    "neighbouring outputs <b>jump</b> pixels apart, output 0's field starting at "
                    "input index <b>start</b> (negative: in the padding); r_out = r_in + "
                    "d(k-1) j_in, j_out = j_in s, start_out = start_in - p j_in.</p>"
                    f"<div class=scroll><table class=layers><thead>{head}</thead><tbody>"
                    + "".join(rows) + "</tbody></table></div><p id=search-count></p>")


def _rf_cell(lf):
    if lf is None:
        return "<td class=rf>--</td>"
    if lf.defined:
        f = lf.field
        return (f"<td class=rf data-r=\"{','.join(map(str, f.size))}\" data-j=\"{','.join(map(str, f.jump))}\" "
                f"data-start=\"{','.join(map(str, f.start))}\">{' x '.join(map(str, f.size))} / "
                f"{' x '.join(map(str, f.jump))} / {', '.join(map(str, f.start))}</td>")
    short = lf.note.split(":")[0]
    return f"<td class=\"rf undefined\" title=\"{_e(lf.note)}\">--<br><small>{_e(short)}</small></td>"


def _diagram_html(r):
    leaves = [info for info in r.summary.layers if info.is_leaf and info.output_shape is not None]
    sizes = [int(np.prod(info.output_shape)) for info in leaves] + [int(np.prod(r.input_shape))]
    top = max(np.log2(max(sizes)), 1.0)
    boxes = [f"<li class=\"box input\"><b>input</b> <span class=shape>{_e(_dims(r.input_shape))}</span>"
             f"{_bar(int(np.prod(r.input_shape)), top)}</li>"]
    previous = "input"
    for info in leaves:
        family = layer_family(info.type)
        field = r.fields.get(info.name)
        search = _e((info.name + " " + info.type).lower())   # filtered with its layer's box
        source = r.sources.get(info.name, previous)
        parent = info.name.rsplit(".", 1)[0] if "." in info.name else ""
        if source != previous:     # the data flow branches or joins here
            where = (f"an operation in {parent or 'the model'}'s forward (e.g. an addition)"
                     if source is None else "the model's input" if source == "input" else source)
            boxes.append(f"<li class=\"from\" data-search=\"{search}\">input from {_e(where)}</li>")
        previous = info.name
        extra = []
        if info.params:
            extra.append(f"{info.params:,} params")
        if field is not None and field.defined:
            extra.append("sees " + " x ".join(map(str, field.field.size)))
        boxes.append(
            f"<li class=\"box f-{family}\" data-search=\"{search}\">"
            f"<b><a href=#family-{family}>{_e(info.type)}</a></b> <small>{_e(info.name)}</small> "
            f"<span class=shape>{_e(_dims(info.output_shape))}</span>"
            + (f" <small class=extra>{_e(', '.join(extra))}</small>" if extra else "")
            + (f" <small class=parent>in {_e(parent)}</small>" if parent else "")
            + f"{_bar(int(np.prod(info.output_shape)), top)}</li>")
    return _section("diagram", "Diagram", "<p>The leaf layers in the order they ran, each with "
                    "its output shape and how many input pixels one of its outputs sees; the "
                    "bar's length is the output's size (log scale), the colour its family. "
                    "Where a layer does not take the previous one's output (a branch, a "
                    "shortcut's addition), a line says where its input came from.</p>"
                    "<ol class=flow>"
                    + "".join(boxes) + "</ol>")


def _bar(size, top):
    width = 100 * max(np.log2(max(size, 1)), 0.5) / top
    return f"<span class=bar style=\"width:{width:.1f}%\"></span>"


def _features_html(r):
    if r.image_png is None and not r.features:
        return ""
    parts = []
    if r.image_png:
        parts.append(f"<figure><img src=\"{r.image_png}\" alt=\"the input image\"><figcaption>"
                     f"the photo as the model saw it: {_e(_dims(r.input_shape))}, in [0, 1]"
                     "</figcaption></figure>")
    if r.outputs_top:
        rows = "".join(f"<tr><td>{i}</td><td>{v:.4g}</td><td>{p:.1%}</td></tr>"
                       for i, v, p in r.outputs_top)
        parts.append("<h3>Top outputs</h3><div class=scroll><table class=top-outputs><tr><th>index"
                     "</th><th>value</th><th>softmax</th></tr>" + rows + "</table></div>")
    for i, view in enumerate(r.features):
        first = "".join(_tile_html(c, uri, mean, mx) for c, uri, mean, mx in view.tiles)
        top = "".join(_tile_html(c, uri, mean, mx, where) for c, uri, mean, mx, where in view.top)
        seen = ""
        if view.seen is not None:
            (r0, r1), (c0, c1) = view.seen
            seen = _picture(view.seen_png, f"receptive field in {view.name}",
                            f"what channel {view.top[0][0]}'s maximum at {view.top[0][4]} sees: "
                            f"input rows {r0}..{r1}, columns {c0}..{c1} (outside the photo: "
                            "padding)")
        parts.append(
            f"<details class=layer-detail{' open' if i < 2 else ''} "
            f"data-search=\"{_e((view.name + ' ' + view.type).lower())}\">"
            f"<summary><code>{_e(view.name)}</code> {_e(view.type)} {_e(_dims(view.shape))}</summary>"
            f"<p>first channels</p><div class=tiles>{first}</div>"
            f"<p>most active channels (highest mean)</p><div class=tiles>{top}</div>{seen}"
            "</details>")
    return _section("features", "Feature maps", "<p>Each conv and pooling layer's output on the "
                    "photo: bright = high (each map scaled to its own range).</p>" + "".join(parts))


def _tile_html(channel, uri, mean, maximum, where=None):
    img = f"<img src=\"{uri}\" alt=\"channel {channel}\">" if uri else "<span class=missing>no picture</span>"
    at = f", max at {where}" if where is not None else ""
    return (f"<figure class=tile>{img}<figcaption>ch {channel}: mean {mean:.3g}, max "
            f"{maximum:.3g}{_e(at)}</figcaption></figure>")


def _convs_html(r):
    if not r.convs:
        return ""
    parts = []
    for v in r.convs:
        pieces = [f"<p>weight {_e(_dims(v.weight_shape))}</p>"]
        pieces.append(_picture(v.weights_png, f"weights of {v.name}", v.weights_caption))
        if v.matrix is not None:
            m = v.matrix
            what = ("this layer on its input" if m.whole_layer else
                    f"its first filter (input channel 0 to output channel 0) on a "
                    f"{_dims(m.input_shape[1:])} input, with the layer's stride, padding and "
                    "dilation")
            pieces.append(
                f"<p>As a matrix: conv(x).flatten() = C @ x.flatten(), shown for {_e(what)}: C is "
                f"{m.matrix.shape[0]} x {m.matrix.shape[1]} with {np.count_nonzero(m.matrix)} "
                f"non-zeros; the transposed convolution with the same weight is C<sup>T</sup>. "
                f"Checked against ember's conv on every basis vector: max error {m.probe_error:.1e}. "
                f"On its real input this layer's C is {m.real_rows:,} x {m.real_cols:,} with "
                f"{m.real_nonzeros:,} non-zeros.</p>"
                f"<div class=pair>{_picture(v.matrix_png, 'C', 'C')}"
                f"{_picture(v.matrix_t_png, 'C transposed', 'C<sup>T</sup>', raw=True)}</div>")
        elif v.matrix_note:
            pieces.append(f"<p class=note>Matrix form: {_e(v.matrix_note)}</p>")
        parts.append(f"<details class=layer-detail data-search=\"{_e((v.name + ' ' + v.type).lower())}\">"
                     f"<summary><code>{_e(v.name)}</code> {_e(v.type)}</summary>{''.join(pieces)}</details>")
    return _section("weights", "Convolution weights and matrices",
                    "<p>Open a layer to see its filters and its matrix.</p>" + "".join(parts))


def _picture(uri, alt, caption, raw=False):
    cap = caption if raw else _e(caption)
    if uri is None:
        return (f"<figure><p class=missing>picture not drawn: Pillow is not installed "
                f"(pip install 'ember[explain]')</p><figcaption>{cap}</figcaption></figure>")
    return f"<figure><img src=\"{uri}\" alt=\"{_e(alt)}\"><figcaption>{cap}</figcaption></figure>"


def _activations_html(r):
    if not r.activations:
        return ""
    from ember.explain.curves import ACTIVATIONS
    cards = []
    for kind, curve in r.activations:
        args = ", ".join(f"{k}={v}" for k, v in curve.kwargs.items())
        formula = ACTIVATIONS[curve.name].formula if curve.name in ACTIVATIONS else ""
        facts = "".join(f"<li>{_e(fact)}</li>" for fact in curve.annotations())
        cards.append(f"<figure class=curve id=\"act-{_e(kind)}\" data-search=\"{_e(kind.lower())}\">"
                     f"{_curve_svg(curve)}<figcaption><b>{_e(kind)}</b>"
                     f"{' (' + _e(args) + ')' if args else ''}"
                     f"{' &nbsp; f(x) = ' + _e(_plain_formula(formula)) if formula else ''}"
                     f"<ul>{facts}</ul></figcaption></figure>")
    return _section("activations", "Activation functions",
                    "<p>f(x) solid, f'(x) dashed - the derivative is ember's autograd, the "
                    "gradient each element passes back.</p><div class=curves>"
                    + "".join(cards) + "</div>")


def _plain_formula(tex):
    """matplotlib mathtext -> plain text with Greek letters."""
    text = tex.replace("$", "")
    for a, b in ((r"\mathrm{softplus}", "softplus"), (r"\max", "max"), (r"\min", "min"),
                 (r"\tanh", "tanh"), (r"\log", "log"), (r"\sigma", "σ"), (r"\alpha", "α"),
                 (r"\lambda", "λ"), (r"\Phi", "Φ"), (r"\cdot", "·"), (r"\mp", "∓"), (r"\,", " "),
                 ("{", "("), ("}", ")")):
        text = text.replace(a, b)
    return text


def _curve_svg(curve, width=320, height=190, pad=26):
    """f and f' as an inline SVG plot (no plotting library)."""
    x = curve.x
    lo = float(min(curve.f.min(), curve.df.min()))
    hi = float(max(curve.f.max(), curve.df.max()))
    lo, hi = (lo - 0.5, hi + 0.5) if hi - lo < 1e-9 else (lo - 0.06 * (hi - lo), hi + 0.06 * (hi - lo))

    def px(v):
        return pad + (v - x[0]) / (x[-1] - x[0]) * (width - 2 * pad)

    def py(v):
        return height - pad - (v - lo) / (hi - lo) * (height - 2 * pad)

    def path(values):
        return " ".join(f"{px(a):.1f},{py(b):.1f}" for a, b in zip(x, values))

    axes = ""
    if lo < 0 < hi:
        axes += f"<line x1={pad} x2={width - pad} y1={py(0):.1f} y2={py(0):.1f} class=axis />"
    axes += f"<line x1={px(0):.1f} x2={px(0):.1f} y1={pad} y2={height - pad} class=axis />"
    ticks = (f"<text x={pad} y={height - 8}>{x[0]:g}</text>"
             f"<text x={width - pad} y={height - 8} text-anchor=end>{x[-1]:g}</text>"
             f"<text x=2 y={py(hi) + 4:.1f}>{hi:.2g}</text><text x=2 y={py(lo):.1f}>{lo:.2g}</text>")
    return (f"<svg viewBox=\"0 0 {width} {height}\" role=img aria-label=\"{_e(curve.name)} and "
            f"its derivative\">{axes}{ticks}"
            f"<polyline class=f points=\"{path(curve.f)}\" />"
            f"<polyline class=df points=\"{path(curve.df)}\" /></svg>")


def _families_html(r, docs_href):
    used = {}
    for info in r.summary.layers:
        used.setdefault(layer_family(info.type, info.is_leaf), set()).add(info.type)
    items = []
    for family, (title, what, doc) in FAMILIES.items():
        if family not in used:
            continue
        page = "docs/" + doc
        link = (f"<a class=docs href=\"{_e(docs_href + doc)}\">{_e(page)}</a>" if docs_href
                else f"<code class=docs>{_e(page)}</code>")
        items.append(f"<li id=family-{family}><b>{_e(title)}</b> ({_e(', '.join(sorted(used[family])))})"
                     f": {_e(what)}. Docs: {link}</li>")
    return _section("families", "Layer families", "<p>Each layer's type links here; the docs "
                    "pages ship with ember's source.</p><ul class=families>" + "".join(items) + "</ul>")


def _failure_html(r):
    f = r.failure
    where = f"<code>{_e(f.layer)}</code> ({_e(f.type)})" if f.layer else f"the model's own forward ({_e(f.type)})"
    path = (" inside " + " &rsaquo; ".join(f"<code>{_e(n or '(model)')}</code> {_e(t)}"
                                          for n, t in f.path)) if f.path else ""
    parts = [f"<p class=fail-where>The model failed at {where}{path}, on an input of shape "
             f"<b>{_e(_dims(f.input_shape))}</b>.</p>",
             f"<pre class=error>{_e(f.error)}</pre>"]
    if f.explanation:
        parts.append("<p>Its size formula, worked out:</p><pre class=formula>"
                     + _e("\n".join(f.explanation)) + "</pre>")
    rows = "".join(f"<tr><td>{_e(n)}</td><td>{_e(t)}</td><td>{_e(_dims(i))}</td><td>{_e(_dims(o))}</td></tr>"
                   for n, t, i, o in f.ran)
    parts.append("<h3>The layers that ran before</h3>" + (
        "<div class=scroll><table class=ran><tr><th>Layer</th><th>Type</th><th>Input</th>"
        f"<th>Output</th></tr>{rows}</table></div>" if rows else "<p>none</p>"))
    parts.append(f"<p>Try another input shape with <code>--input</code> (this one was "
                 f"{_e(_dims(r.input_shape))}).</p>")
    return _section("failure", "The model failed on this input", "".join(parts))


_HEAD = ("<!DOCTYPE html><html lang=en><head><meta charset=utf-8>"
         "<meta name=viewport content=\"width=device-width, initial-scale=1\">"
         "<title>{title}</title><style>{css}</style></head><body>")

_CSS = """
:root{--fg:#1d2330;--muted:#5b6475;--line:#d9dde5;--accent:#1f5fa8;--bg:#fff;--soft:#f5f7fa}
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
header{position:sticky;top:0;z-index:2;background:var(--bg);border-bottom:1px solid var(--line);padding:.5rem 1rem}
h1{font-size:1.25rem;margin:.2rem 0}
h2{display:inline;font-size:1.1rem;margin:0}
h3{font-size:1rem;margin:1rem 0 .4rem}
.sub{margin:0;color:var(--muted);font-size:.85rem}
nav{display:flex;flex-wrap:wrap;gap:.3rem .8rem;align-items:center;margin-top:.4rem;font-size:.9rem}
nav input{flex:1 1 14rem;min-width:0;font-size:16px;padding:.35rem .5rem;border:1px solid var(--line);border-radius:6px}
main{padding:0 1rem 2rem;max-width:1400px}
a{color:var(--accent)}
details.section{border-bottom:1px solid var(--line);padding:.6rem 0;scroll-margin-top:7.5rem}
details.section>summary{cursor:pointer;padding:.2rem 0}
.scroll{overflow-x:auto;-webkit-overflow-scrolling:touch;max-width:100%}
table{border-collapse:collapse;font-size:.85rem}
th,td{border-bottom:1px solid var(--line);padding:.25rem .5rem;text-align:left;vertical-align:top;white-space:nowrap}
td.params,td.madds,td.mem,table.totals td{text-align:right;font-variant-numeric:tabular-nums}
td.formula{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.75rem;color:var(--muted)}
td.rf small{color:var(--muted);white-space:normal;display:inline-block;max-width:16rem}
thead th{position:sticky;top:0;background:var(--soft)}
tr[hidden],li[hidden],details[hidden],figure[hidden]{display:none}
ol.flow{list-style:none;padding:0;margin:0;max-width:46rem}
ol.flow li.box{border:1px solid var(--line);border-left:5px solid #9aa3b2;border-radius:6px;padding:.3rem .6rem;margin:0 0 1.1rem;position:relative}
ol.flow li.box:not(:last-child)::after{content:"\\2193";position:absolute;left:1.2rem;bottom:-1.15rem;color:var(--muted)}
ol.flow li.from{margin:-.5rem 0 .6rem .9rem;font-size:.8rem;color:#6a3d9a}
ol.flow li.from::before{content:"\\21B3  "}
ol.flow li.box:has(+ li.from)::after{content:none}
ol.flow .shape{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.85rem}
ol.flow small{color:var(--muted)}
.bar{display:block;height:4px;background:#9ec5ee;margin-top:.25rem;border-radius:2px}
.f-conv{border-left-color:#1f5fa8!important}.f-conv_transpose{border-left-color:#6a3d9a!important}
.f-pool,.f-adaptive_pool{border-left-color:#2a9d8f!important}.f-activation{border-left-color:#e8710a!important}
.f-linear{border-left-color:#b5179e!important}.f-normalization{border-left-color:#8d99ae!important}
figure{margin:.4rem .6rem .6rem 0;display:inline-block;vertical-align:top;max-width:100%}
figure img{max-width:100%;height:auto;image-rendering:pixelated;border:1px solid var(--line)}
figcaption{font-size:.8rem;color:var(--muted);max-width:36rem}
.tiles figure.tile{width:7.5rem}.tiles figure.tile img{width:100%}
.pair{display:flex;flex-wrap:wrap;gap:.6rem}
details.layer-detail{margin:.3rem 0;padding:.2rem .5rem;border:1px solid var(--line);border-radius:6px}
details.layer-detail>summary{cursor:pointer}
.curves{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,20rem),1fr));gap:.8rem}
figure.curve{margin:0;display:block}
figure.curve svg{width:100%;height:auto;background:var(--soft);border-radius:6px}
svg .axis{stroke:#999;stroke-width:1}
svg polyline{fill:none;stroke-width:2.2}
svg .f{stroke:#1f5fa8}svg .df{stroke:#e8710a;stroke-dasharray:6 4}
svg text{font-size:10px;fill:#5b6475}
.note,.missing{color:#8a4b00;background:#fff4e5;padding:.3rem .5rem;border-radius:4px}
pre{white-space:pre-wrap;word-break:break-word;background:var(--soft);padding:.6rem;border-radius:6px;font-size:.85rem}
pre.error{background:#fdecea;color:#7a1b12}
.fail-where{font-size:1.05rem}
ul.families li{margin:.3rem 0}
footer{padding:1rem;color:var(--muted);font-size:.8rem;border-top:1px solid var(--line)}
@media (max-width:600px){body{font-size:14px}main{padding:0 .6rem 2rem}header{position:static;padding:.4rem .6rem}details.section{scroll-margin-top:0}h1{font-size:1.05rem}.tiles figure.tile{width:5.5rem}}
"""

# The search box hides the layers (rows, diagram boxes, detail panels) whose name and type do
# not contain the text, and opens the sections so that the matches are seen.
_SCRIPT = """
(function () {
  var box = document.getElementById('search');
  if (!box) { return; }
  var count = document.getElementById('search-count');
  box.addEventListener('input', function () {
    var q = box.value.trim().toLowerCase();
    var rows = 0;
    document.querySelectorAll('[data-search]').forEach(function (el) {
      var hit = q === '' || el.getAttribute('data-search').indexOf(q) !== -1;
      el.hidden = !hit;
      if (hit && el.tagName === 'TR') { rows += 1; }
    });
    if (q !== '') {
      document.querySelectorAll('details.section').forEach(function (d) { d.open = true; });
    }
    count.textContent = q === '' ? '' : rows + ' layer' + (rows === 1 ? '' : 's') + ' match "' + q + '"';
  });
})();
"""
