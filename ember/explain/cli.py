"""``ember explain ...``: the explain tools on the command line.

Each subcommand prints its result and the paths of the files it wrote (under ``--out``,
default ``./ember-explain``)::

    ember explain size conv2d --input 1,3,512,512 --out-channels 1 --kernel-size 3
    ember explain matrix --input 4,4 --kernel-size 3
    ember explain animate conv2d --input 5,5 --kernel-size 3 --stride 2 --padding 1
    ember explain activation sigmoid
    ember explain features [IMAGE]
    ember explain checkerboard
    ember explain summary lenet --explain
    ember explain rnn --cell lstm
    ember explain attention --causal
    ember explain upsample
    ember explain pixelshuffle --factor 2
"""
from __future__ import annotations

import argparse
import contextlib
import importlib
import math
import os
import sys

from ember.cli import CommandError, output_directory

__all__ = ["add_subcommand", "main"]

_DEFAULT_OUT = "ember-explain"
_DEFAULT_MAX_GIB = 2
_DEFAULT_MAX_FRAMES = 500       # about a minute of drawing, 7 minutes of GIF
_PROGRESS_FRAMES = 25           # from this many frames on, count them on stderr
_MIN_IMAGE = 4                  # features: 3x3 conv, then 2x2 pooling


def _ints(text):
    """'3' -> 3, '3,3' -> (3, 3) (a single number stays an int, as the layers accept)."""
    items = str(text).replace("x", ",").split(",")
    try:
        values = tuple(int(v) for v in items)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected integers separated by commas, e.g. 3 or 3,5, got {text!r}") from None
    return values[0] if len(values) == 1 else values


def _shape(text):
    value = _ints(text)
    return value if isinstance(value, tuple) else (value,)


def _sizes(text):
    """A shape of positive sizes: '1,3,32,32' -> (1, 3, 32, 32)."""
    value = _shape(text)
    if any(v <= 0 for v in value):
        raise argparse.ArgumentTypeError(f"expected positive sizes, got {text!r}")
    return value


def _padding(text):
    return text if text in ("same", "valid") else _ints(text)


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _gib(text):
    """--max-memory: a positive number of GiB."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected a positive number of GiB, got {text!r}")
    return value


def _range(text):
    """--range: two finite numbers, low then high."""
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected two numbers LOW,HIGH, got {text!r}") from None
    if len(values) != 2 or not all(math.isfinite(v) for v in values) or not values[0] < values[1]:
        raise argparse.ArgumentTypeError(
            f"expected two finite numbers LOW,HIGH with LOW < HIGH, got {text!r}")
    return values


def _layer_arguments(p, *, animate=False):
    p.add_argument("--kernel-size", "-k", type=_ints, required=True, help="e.g. 3 or 3,5")
    p.add_argument("--stride", "-s", type=_ints, default=None,
                   help="default: 1 for convolutions, kernel_size for pooling and unpooling")
    p.add_argument("--padding", "-p", type=_padding, default=0,
                   help="an int, per-dim ints, or 'same'/'valid' (convolutions)")
    p.add_argument("--dilation", "-d", type=_ints, default=1)
    p.add_argument("--output-padding", type=_ints, default=0, help="transposed convolutions")
    p.add_argument("--output-size", type=_shape, default=None,
                   help="transposed convolutions and unpooling: pick the output size")
    p.add_argument("--ceil-mode", action="store_true", help="pooling: round the output size up")
    if not animate:
        p.add_argument("--out-channels", type=int, default=None, help="convolutions (required)")
        p.add_argument("--groups", "-g", type=int, default=1)
        p.add_argument("--no-bias", action="store_true", help="convolutions: no bias parameters")


def add_subcommand(subparsers) -> None:
    """Register ``ember explain`` and its subcommands on the ``ember`` parser."""
    explain = subparsers.add_parser(
        "explain", help="show what a layer does: sizes, conv as a matrix, animations, plots",
        description="Show what each layer does, computed by ember's own layers. Every "
                    "subcommand prints its result and where its files went.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=_EPILOG)
    explain.set_defaults(func=lambda args: explain.print_help() or 0)
    sub = explain.add_subparsers(dest="explain_command", metavar="SUBCOMMAND")
    for add_parser in (_add_size, _add_matrix, _add_animate, _add_activation, _add_features,
                       _add_checkerboard, _add_summary, _add_rnn, _add_attention, _add_upsample,
                       _add_pixelshuffle, _add_playground, _add_report):
        add_parser(sub)


def _op_argument(p, ops):
    """The positional OP, one of ``ops``."""
    p.add_argument("op", choices=ops, metavar="OP", help="one of: " + ", ".join(ops))


def _add_size(sub):
    """``explain size OP --input SHAPE ...``."""
    from ember.explain.sizes import OPS
    p = sub.add_parser(
        "size", help="output shape of a conv / pooling / unpooling layer, formula written out",
        description="Work out the output shape, showing each formula with the numbers filled "
                    "in; ceil_mode's last-window rule and impossible configurations explained "
                    "in words.")
    _op_argument(p, OPS)
    p.add_argument("--input", "-i", type=_shape, required=True, help="input shape, e.g. 1,3,512,512")
    _layer_arguments(p)
    p.set_defaults(func=_cmd_size)


def _add_matrix(sub):
    """``explain matrix``: a small convolution's geometry and weights."""
    p = sub.add_parser(
        "matrix", help="convolution as a matrix C: conv(x) == C @ x, conv_transpose(y) == C.T @ y",
        description="Build the unrolled matrix of a small convolution from its weight, check it "
                    "against ember's conv (and ember's conv on basis vectors), show that the "
                    "transposed convolution with the same weight is C.T, and draw C and C.T.")
    p.add_argument("--input", "-i", type=_sizes, default=(4, 4), help="spatial input size (default 4,4)")
    p.add_argument("--kernel-size", "-k", type=_ints, default=3)
    p.add_argument("--stride", "-s", type=_ints, default=1)
    p.add_argument("--padding", "-p", type=_ints, default=0)
    p.add_argument("--dilation", "-d", type=_ints, default=1)
    p.add_argument("--in-channels", type=_positive_int, default=1)
    p.add_argument("--out-channels", type=_positive_int, default=1)
    p.add_argument("--groups", "-g", type=_positive_int, default=1)
    p.add_argument("--weights", choices=("arange", "random"), default="arange",
                   help="1, 2, 3, ... (default) or random normal")
    p.add_argument("--seed", type=int, default=0)
    _max_memory(p)
    _out(p)
    p.set_defaults(func=_cmd_matrix)


def _add_animate(sub):
    """``explain animate OP --input SIZE ...``, with its frame and memory limits."""
    from ember.explain.animate import ANIMATED_OPS
    p = sub.add_parser(
        "animate", help="GIF of the window sliding over the input, output built element by element",
        description="One frame per output element (plus an intro with the size formula and an "
                    "outro); padding, stride, dilation, ceil_mode overhang and transposed "
                    "convolution's inserted zeros are drawn. Numbers are small random integers "
                    "run through ember's layer.")
    _op_argument(p, ANIMATED_OPS)
    p.add_argument("--input", "-i", type=_sizes, required=True,
                   help="spatial input size, e.g. 5,5 (2-d) or 7 (1-d)")
    _layer_arguments(p, animate=True)
    p.add_argument("--exclude-pad", action="store_true", help="avg_pool: count_include_pad=False")
    p.add_argument("--divisor-override", type=_positive_int, default=None, help="avg_pool2d")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--cell", type=_positive_int, default=None, help="cell size in pixels")
    p.add_argument("--max-frames", type=_positive_int, default=_DEFAULT_MAX_FRAMES,
                   help="refuse animations of more frames (default %(default)s)")
    _max_memory(p)
    _out(p)
    p.set_defaults(func=_cmd_animate)


def _add_activation(sub):
    """``explain activation NAME|all [--range] [--param KEY=VALUE]``."""
    p = sub.add_parser("activation", help="f(x) and f'(x) (by ember's autograd) of an activation",
                       description="Plot an activation and its derivative, computed by ember's "
                                   "autograd, with its range and the peak of f' annotated. NAME "
                                   "'all' draws every activation on one sheet.")
    p.add_argument("name", metavar="NAME", help="e.g. sigmoid, relu, gelu, or 'all'")
    p.add_argument("--range", type=_range, default=None,
                   help="x range, e.g. --range=-6,6 (with '=': it starts with a minus)")
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                   help="keyword argument of the activation, e.g. negative_slope=0.2")
    _out(p)
    p.set_defaults(func=_cmd_activation)


def _add_features(sub):
    """``explain features [IMAGE]``."""
    p = sub.add_parser("features", help="feature maps of a photo through random Conv2d(3, 1, 3)",
                       description="Run a photo (the bundled public-domain one if IMAGE is not "
                                   "given) through Conv2d(3, 1, 3) with ember's random init under "
                                   "several seeds, and two classic edge kernels; then ReLU, "
                                   "max and average pooling; save the grid.")
    p.add_argument("image", nargs="?", default=None, metavar="IMAGE")
    p.add_argument("--seeds", type=_shape, default=(0, 1, 2, 3))
    p.add_argument("--size", type=_positive_int, default=160,
                   help="scale the longer side to this many pixels")
    p.add_argument("--no-classic", action="store_true", help="random kernels only")
    _max_memory(p)
    _out(p)
    p.set_defaults(func=_cmd_features)


def _add_checkerboard(sub):
    """``explain checkerboard [--image]``."""
    p = sub.add_parser("checkerboard", help="ConvTranspose2d(k=3, s=2) vs resize-then-convolve",
                       description="Show the checkerboard artefact of a stride-2 transposed "
                                   "convolution and how resizing, then convolving, avoids it.")
    p.add_argument("--image", default=None, help="a photo (default: the bundled one)")
    p.add_argument("--seed", type=int, default=0)
    _out(p)
    p.set_defaults(func=_cmd_checkerboard)


def _add_summary(sub):
    """``explain summary MODEL [--input] [--explain]``."""
    from ember.explain.summary import MODELS
    p = sub.add_parser("summary", help="layer-by-layer summary of a model (like torchinfo)",
                       description="Output shape, parameters and multiply-adds of every layer, "
                                   "from one forward pass. MODEL is one of "
                                   f"{', '.join(MODELS)}, a model of ember.vision.models (e.g. "
                                   "resnet18), 'file.py:Class' or 'package.module:attribute' "
                                   "(a Module, a Module class or a function returning one).")
    p.add_argument("model", metavar="MODEL")
    p.add_argument("--input", "-i", type=_sizes, default=None,
                   help="input shape (default: the named model's)")
    p.add_argument("--explain", action="store_true",
                   help="show each conv/pool layer's size formula with its numbers")
    _max_memory(p)
    p.set_defaults(func=_cmd_summary)


_EPILOG = """\
subcommands:
  size OP --input SHAPE ...   output shape with the formula written out, e.g.
                                ember explain size conv2d --input 1,3,512,512 --out-channels 1 -k 3
                                ember explain size max_pool2d --input 1,1,5,5 -k 2 --ceil-mode
                              OP: conv1d/2d/3d, conv_transpose1d/2d/3d, max_pool1d/2d/3d,
                                  avg_pool1d/2d/3d, max_unpool1d/2d/3d
  matrix                      conv as the matrix C; conv_transpose is C.T (PNG heat map)
  animate OP --input SIZE ... GIF, one frame per output element (1-d and 2-d ops)
  activation NAME|all         f and f' (ember's autograd) on one plot (PNG)
  features [IMAGE]            a photo through random Conv2d(3, 1, 3) filters, ReLU, pooling (PNG)
  checkerboard                ConvTranspose2d(k=3, s=2) vs resize-then-convolve (PNG)
  summary MODEL               layer-by-layer table: shapes, parameters, multiply-adds
  rnn [--cell lstm|gru|rnn]   a recurrent layer unrolled in time: h_t (and c_t) per step (PNG)
  attention [--causal]        MultiheadAttention's weights per head on a sentence (PNG)
  upsample                    F.interpolate's modes side by side on one image (PNG)
  pixelshuffle [--factor R]   where PixelShuffle moves each channel's pixels (PNG)
  playground [-o FILE]        one offline HTML page: sliders for conv/pool arguments, the output
                              size worked out, ember's error when impossible, the window animated
  report MODEL [--image FILE] [-o FILE]
                              one offline HTML page about a model: layer table and diagram,
                              receptive fields, weights, conv matrices, feature maps, activations

Run 'ember explain SUBCOMMAND --help' for each one's options. Files go to --out
(default ./ember-explain). Plots and GIFs need: pip install 'ember[explain]'.
"""


def _add_playground(sub):
    """``explain playground [-o FILE]``."""
    p = sub.add_parser("playground", help="an offline HTML page to try conv/pool sizes",
                       description="Write one self-contained HTML page (no network, no server; "
                                   "readable on a phone) with sliders for the arguments of "
                                   "Conv2d, ConvTranspose2d, MaxPool2d, AvgPool2d and "
                                   "MaxUnpool2d: the output size with its formula, ember's error "
                                   "for impossible configurations, the window sliding over the "
                                   "padded input, the matrix view and the checkerboard overlap.")
    _page_output(p, "playground.html")
    p.set_defaults(func=_cmd_playground)


def _page_output(p, name):
    """``--output/-o``: an HTML page's file, or a folder that gets ``name``."""
    p.add_argument("--output", "-o", default=os.path.join(_DEFAULT_OUT, name), metavar="FILE",
                   help=f"the page to write; a folder gets {name} "
                        f"(default ./{_DEFAULT_OUT}/{name})")


def _write_page(args, name, write):
    """Write the page (``write(target)``) where --output says, and say how to open it."""
    import pathlib
    path = args.output
    if os.path.isdir(path):
        path = os.path.join(path, name)
    _save(path, write)
    print(f"open it in a browser: {pathlib.Path(os.path.abspath(path)).as_uri()}")


def _cmd_playground(args):
    from ember.explain.playground import write_playground
    _write_page(args, "playground.html", write_playground)
    return 0


def _floats(text):
    """--mean/--std: finite numbers separated by commas."""
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        values = (float("nan"),)
    if not all(math.isfinite(v) for v in values):
        raise argparse.ArgumentTypeError(f"expected numbers separated by commas, got {text!r}")
    return values


def _add_report(sub):
    """``explain report MODEL [--input] [--image] [--checkpoint] [-o FILE]``."""
    from ember.explain.summary import MODELS
    p = sub.add_parser("report", help="one offline HTML page about a model",
                       description="Write one self-contained HTML page (no network, no server; "
                                   "readable on a phone) about a model: its layers as a table and "
                                   "a diagram (shapes, size formulas, parameters, multiply-adds, "
                                   "memory, receptive fields), each convolution's weights and "
                                   "matrix, the activation functions and their derivatives and, "
                                   "with --image, the feature maps. MODEL is one of "
                                   f"{', '.join(MODELS)}, a model of ember.vision.models (e.g. "
                                   "resnet18), 'file.py:Class' or 'package.module:attribute'. A "
                                   "model that fails on the input gives a page that says where "
                                   "and why.")
    p.add_argument("model", metavar="MODEL")
    p.add_argument("--input", "-i", type=_sizes, default=None,
                   help="input shape (default: the named model's)")
    p.add_argument("--image", default=None, metavar="FILE",
                   help="a photo to run through the model, for the feature maps")
    p.add_argument("--mean", type=_floats, default=None, metavar="M[,M,M]",
                   help="normalise the photo: (x - mean) / std per channel, x in [0, 1] "
                        "(ImageNet's: 0.485,0.456,0.406)")
    p.add_argument("--std", type=_floats, default=None, metavar="S[,S,S]",
                   help="see --mean (ImageNet's: 0.229,0.224,0.225)")
    p.add_argument("--checkpoint", default=None, metavar="FILE",
                   help="a state dict to load into the model (safetensors or torch's .pt; "
                        "loaded with weights_only=True)")
    _page_output(p, "report.html")
    _max_memory(p)
    p.set_defaults(func=_cmd_report)


def _cmd_report(args):
    from ember.explain.limits import MemoryLimitError, MissingExtraError
    from ember.explain.report import build_report, load_input_image, write_report
    from ember.explain.summary import load_model
    with _current_directory_importable(), _argument_errors():
        model, default_size = load_model(args.model, checkpoint=args.checkpoint)
    size = args.input or default_size
    if size is None:
        raise CommandError(f"give the input shape with --input: {args.model} has no default")
    image = None
    if args.image is not None:
        if not os.path.isfile(args.image):
            raise CommandError(f"no such image file: {args.image}")
        try:
            image = load_input_image(args.image, size)
        except (MissingExtraError, ValueError) as e:
            raise CommandError(str(e)) from None
        except (OSError, SyntaxError, _decompression_bomb()) as e:
            raise CommandError(f"cannot read the image {args.image}: {e}") from None
    if image is None and (args.mean or args.std):
        raise CommandError("--mean and --std normalise the photo: give it with --image")
    try:
        report = build_report(model, size, name=args.model, image=image, mean=args.mean,
                              std=args.std, max_bytes=_max_bytes(args))
    except MemoryLimitError as e:
        raise _memory_limit_error(e) from None
    except ValueError as e:   # --mean/--std that do not fit the channels
        raise CommandError(str(e)) from None
    _write_page(args, "report.html", lambda target: write_report(report, target))
    if report.failure is not None:
        f = report.failure
        raise CommandError(f"the model failed on an input of shape {list(size)} at "
                           f"{f.layer or 'its own forward'} ({f.type}, input "
                           f"{list(f.input_shape) if f.input_shape else '?'}): {f.error}; "
                           "the page shows where")
    return 0


def _add_rnn(sub):
    """``explain rnn [--cell] [--steps] [--hidden]``."""
    p = sub.add_parser("rnn", help="a recurrent layer unrolled in time",
                       description="Step an RNN/GRU/LSTM cell through a sequence with the layer's "
                                   "weights, check it against the fused layer and plot the states.")
    p.add_argument("--cell", choices=("rnn", "gru", "lstm"), default="lstm")
    p.add_argument("--steps", type=_positive_int, default=24)
    p.add_argument("--hidden", type=_positive_int, default=8)
    p.add_argument("--seed", type=int, default=0)
    _out(p)
    p.set_defaults(func=_cmd_rnn)


def _add_attention(sub):
    """``explain attention [--sentence] [--heads] [--embed-dim] [--causal]``."""
    from ember.explain.attention import SENTENCE
    p = sub.add_parser("attention", help="attention weights as a heat map, one per head",
                       description="Self-attention of nn.MultiheadAttention on a sentence's tokens: "
                                   "softmax(Q K^T / sqrt(d)) per head.")
    p.add_argument("--sentence", default=SENTENCE)
    p.add_argument("--heads", type=_positive_int, default=2)
    p.add_argument("--embed-dim", type=_positive_int, default=16)
    p.add_argument("--causal", action="store_true", help="mask the future (decoder attention)")
    p.add_argument("--seed", type=int, default=0)
    _out(p)
    p.set_defaults(func=_cmd_attention)


def _add_upsample(sub):
    """``explain upsample [--image] [--scale]``."""
    p = sub.add_parser("upsample", help="F.interpolate's modes side by side",
                       description="nearest, nearest-exact, bilinear (both align_corners) and "
                                   "bicubic upsampling of the same small image.")
    p.add_argument("--image", default=None, help="a photo (default: the bundled one)")
    p.add_argument("--scale", type=_positive_int, default=4)
    _out(p)
    p.set_defaults(func=_cmd_upsample)


def _add_pixelshuffle(sub):
    """``explain pixelshuffle [--factor] [--channels]``."""
    p = sub.add_parser("pixelshuffle", help="where PixelShuffle moves each channel's pixels",
                       description="PixelShuffle(r): (C*r*r, H, W) -> (C, H*r, W*r), drawn as "
                                   "labelled cells.")
    p.add_argument("--factor", type=_positive_int, default=2)
    p.add_argument("--channels", type=_positive_int, default=1)
    _out(p)
    p.set_defaults(func=_cmd_pixelshuffle)


def _out(p):
    p.add_argument("--out", "-o", default=_DEFAULT_OUT, help=f"output folder (default ./{_DEFAULT_OUT})")


def _max_memory(p):
    p.add_argument("--max-memory", type=_gib, default=_DEFAULT_MAX_GIB, metavar="GIB",
                   help="refuse to start when the memory estimate is above this many GiB "
                        "(default %(default)s)")


def _max_bytes(args):
    return int(args.max_memory * 1024 ** 3)


def _check_memory(what, estimate, args):
    """Refuse (before allocating) an estimate above --max-memory, showing the estimate."""
    from ember.explain.limits import MemoryLimitError, check_memory
    try:
        check_memory(what, estimate, _max_bytes(args))
    except MemoryLimitError as e:
        raise _memory_limit_error(e) from None


def _memory_limit_error(e):
    """The refusal of an estimate above --max-memory, as an error line naming the way out."""
    return CommandError(f"{e}; pass --max-memory to raise the limit")


@contextlib.contextmanager
def _argument_errors(*extra):
    """Errors in words raised while checking the arguments (SizeError, ValueError from the
    layers' own validation, a missing plotting extra) become one clean ``error:`` line."""
    from ember.explain.limits import MissingExtraError
    from ember.explain.sizes import SizeError
    try:
        yield
    except (SizeError, ValueError, MissingExtraError, *extra) as e:
        raise CommandError(str(e)) from None


def _out_path(args, name):
    return os.path.join(output_directory(args.out), name)


def _save(path, write):
    """Run ``write(path)``; a file that cannot be written is an error in words."""
    try:
        write(path)
    except OSError as e:
        raise CommandError(f"cannot write {path}: {e.strerror or e}") from None
    _wrote(path)


def _wrote(*paths):
    for path in paths:
        print(f"wrote {os.path.abspath(path)}")


def _cmd_size(args):
    from ember.explain.sizes import SizeError, explain_size
    try:
        report = explain_size(args.op, args.input, out_channels=args.out_channels,
                              kernel_size=args.kernel_size, stride=args.stride, padding=args.padding,
                              dilation=args.dilation, groups=args.groups, bias=not args.no_bias,
                              ceil_mode=args.ceil_mode, output_padding=args.output_padding,
                              output_size=args.output_size)
    except SizeError as e:
        if e.lines:    # the formulas up to where it went wrong
            print("\n".join(e.lines))
        raise CommandError(str(e)) from None
    except ValueError as e:
        raise CommandError(str(e)) from None
    print(report)
    return 0


def _cmd_matrix(args):
    from ember.explain.matrix import explain_matrix, matrix_bytes, matrix_figure
    geometry = (args.input, args.kernel_size, args.stride, args.padding, args.dilation,
                args.in_channels, args.out_channels, args.groups)
    with _argument_errors():
        _check_memory("the matrix", matrix_bytes(*geometry), args)
        report = explain_matrix(*geometry, args.weights, args.seed)
        path = _out_path(args, "conv_matrix.png")
        figure = matrix_figure(report)
    print(report)
    _save(path, figure.savefig)
    return 0


def _cmd_animate(args):
    from ember.explain.animate import animate, animation_cost
    options = dict(kernel_size=args.kernel_size, stride=args.stride, padding=args.padding,
                   dilation=args.dilation, output_padding=args.output_padding,
                   ceil_mode=args.ceil_mode, output_size=args.output_size)
    with _argument_errors():
        frames, estimate = animation_cost(args.op, args.input, cell=args.cell, **options)
        if frames > args.max_frames:
            raise CommandError(f"the animation would have {frames} frames (limit "
                               f"{args.max_frames}); pass --max-frames to raise the limit")
        _check_memory("the animation", estimate, args)
        path = _out_path(args, f"{args.op}.gif")
        counter = _FrameCounter() if frames >= _PROGRESS_FRAMES else None
        anim = animate(args.op, args.input, count_include_pad=not args.exclude_pad,
                       divisor_override=args.divisor_override, seed=args.seed, cell=args.cell,
                       progress=counter, **options)
    print(f"{args.op}  {anim.scene.title}")
    print("\n".join(anim.scene.intro))
    print(f"{len(anim.frames)} frames: intro, {len(anim.scene.steps)} output elements, outro")
    _save(path, anim.save)
    return 0


class _FrameCounter:
    """``frame 120/363`` on stderr, redrawn in place; the line ends when the last frame is done."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stderr

    def __call__(self, done, total):
        self.stream.write(f"\rframe {done}/{total}" + ("\n" if done == total else ""))
        self.stream.flush()


def _activation_kwargs(name, params):
    """--param KEY=VALUE items as keyword arguments of ``F.<name>``: keys it takes, each once;
    numbers as floats, anything else (e.g. approximate=tanh) as text."""
    import inspect

    import ember.nn.functional as F
    function = getattr(F, name, None)
    accepted = None
    if callable(function):
        parameters = list(inspect.signature(function).parameters.values())[1:]
        if not any(p.kind is p.VAR_KEYWORD for p in parameters):
            accepted = [p.name for p in parameters]
    kwargs = {}
    for item in params:
        key, equals, value = item.partition("=")
        if not equals or not key or not value:
            raise CommandError(f"--param expects KEY=VALUE, e.g. negative_slope=0.2, got {item!r}")
        if accepted is not None and key not in accepted:
            raise CommandError(f"{name} has no parameter {key!r}; it takes: "
                               f"{', '.join(accepted) or 'none'}")
        if key in kwargs:
            raise CommandError(f"--param {key} is given twice")
        try:
            kwargs[key] = float(value)
        except ValueError:
            kwargs[key] = value
    return kwargs


def _cmd_activation(args):
    from ember.explain.curves import plot_activation, plot_all_activations
    from ember.explain.limits import MissingExtraError
    if args.name == "all":
        if args.param:
            raise CommandError("--param needs one activation NAME, not 'all'")
        path = _out_path(args, "activations.png")
        with _argument_errors(OSError):
            _, curves = plot_all_activations(path, x_range=args.range or (-4.0, 4.0))
        for curve in curves:
            print(f"{curve.name:12s} " + "; ".join(curve.annotations()[:2]))
        _wrote(path)
        return 0
    kwargs = _activation_kwargs(args.name, args.param)
    path = _out_path(args, f"{args.name}.png")
    try:
        _, curve = plot_activation(args.name, path, x_range=args.range or (-6.0, 6.0), **kwargs)
    except (ValueError, TypeError) as e:   # TypeError: a value of the wrong kind (slope=abc)
        given = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
        raise CommandError(f"{args.name}({given}): {e}" if kwargs else str(e)) from None
    except (MissingExtraError, OSError) as e:
        raise CommandError(str(e)) from None
    print(f"{curve.name}: " + "\n  ".join(curve.annotations()))
    _wrote(path)
    return 0


def _read_image(path, size):
    """The photo at ``path`` as (3, H, W) (None: the bundled one); a missing, unreadable or
    non-image file is an error in words."""
    from ember.explain.features import load_image
    if path is not None and not os.path.exists(path):
        raise CommandError(f"no such image file: {path}")
    if path is not None and os.path.isdir(path):
        raise CommandError(f"{path} is a folder, not an image file")
    from ember.explain.limits import MissingExtraError
    try:
        image = load_image(path, size)
    except MissingExtraError as e:
        raise CommandError(str(e)) from None
    except (OSError, ValueError, SyntaxError, _decompression_bomb()) as e:
        # Pillow's errors for a file that is not an image (or a truncated or huge one)
        raise CommandError(f"cannot read the image {path}: {e}") from None
    if min(image.shape[1:]) < _MIN_IMAGE:
        raise CommandError(f"the image is {image.shape[2]}x{image.shape[1]} pixels at --size "
                           f"{size}; the 3x3 convolution and 2x2 pooling need at least "
                           f"{_MIN_IMAGE} on each side")
    return image


def _decompression_bomb():
    from PIL import Image
    return Image.DecompressionBombError


def _features_bytes(size, n_rows):
    """float64 maps of at most size x size: the image (3) and Pillow's copies (3), then per row
    the conv, ReLU and the pools (3), and the figure's images of them (about 12 more)."""
    return 8 * size * size * (6 + 15 * n_rows)


def _cmd_features(args):
    import numpy as np

    from ember.explain.features import CLASSIC_KERNELS, feature_maps, features_figure
    if args.size < _MIN_IMAGE:
        raise CommandError(f"--size must be at least {_MIN_IMAGE} pixels (a 3x3 convolution, "
                           f"then 2x2 pooling), got {args.size}")
    rows = len(args.seeds) + (0 if args.no_classic else len(CLASSIC_KERNELS))
    _check_memory("the feature maps", _features_bytes(args.size, rows), args)
    image = _read_image(args.image, args.size)
    path = _out_path(args, "features.png")
    with _argument_errors():
        maps = feature_maps(image, seeds=args.seeds, classic=not args.no_classic)
        figure = features_figure(maps)
    for row in maps.rows:
        print(f"{row.label:28s} conv output {row.conv.shape[0]}x{row.conv.shape[1]} in "
              f"[{row.conv.min():+.3f}, {row.conv.max():+.3f}], {np.mean(row.relu > 0):.0%} "
              "positive after ReLU")
    _save(path, figure.savefig)
    return 0


def _cmd_checkerboard(args):
    from ember.explain.checkerboard import checkerboard, checkerboard_figure
    photo = _read_image(args.image, 96) if args.image is not None else None
    path = _out_path(args, "checkerboard.png")
    with _argument_errors():
        cb = checkerboard(photo, seed=args.seed)
        figure = checkerboard_figure(cb)
    print(cb.summary())
    _save(path, figure.savefig)
    return 0


def _cmd_rnn(args):
    from ember.explain.recurrent import unroll, unrolled_figure
    path = _out_path(args, f"rnn-{args.cell}.png")
    with _argument_errors():
        u = unroll(args.cell, args.steps, args.hidden, args.seed)
        figure = unrolled_figure(u)
    print(u.summary())
    _save(path, figure.savefig)
    return 0


def _cmd_attention(args):
    from ember.explain.attention import attention_figure, attention_weights
    path = _out_path(args, "attention.png")
    with _argument_errors():
        a = attention_weights(args.sentence, args.embed_dim, args.heads, args.causal, args.seed)
        figure = attention_figure(a)
    print(a.summary())
    _save(path, figure.savefig)
    return 0


def _cmd_upsample(args):
    from ember.explain.resample import upsample_figure, upsample_modes
    image = _read_image(args.image, 12).mean(axis=0) if args.image is not None else None
    path = _out_path(args, "upsample.png")
    with _argument_errors():
        u = upsample_modes(image, args.scale)
        figure = upsample_figure(u)
    print(u.summary())
    _save(path, figure.savefig)
    return 0


def _cmd_pixelshuffle(args):
    from ember.explain.resample import pixel_shuffle_figure, pixel_shuffle_layout
    path = _out_path(args, "pixelshuffle.png")
    with _argument_errors():
        p = pixel_shuffle_layout(args.factor, args.channels)
        figure = pixel_shuffle_figure(p)
    print(p.summary())
    _save(path, figure.savefig)
    return 0


@contextlib.contextmanager
def _current_directory_importable():
    """Let MODEL name a module in the current directory, as ``python -m`` and ``python -c``
    would (the ``ember`` script's own folder is sys.path[0] instead)."""
    cwd = os.getcwd()
    added = cwd not in sys.path and "" not in sys.path
    if added:
        sys.path.insert(0, cwd)
    importlib.invalidate_caches()   # a module written a moment ago is found too
    try:
        yield
    finally:
        if added and cwd in sys.path:
            sys.path.remove(cwd)


def _cmd_summary(args):
    from ember.explain.limits import MemoryLimitError
    from ember.explain.summary import load_model, summary
    with _current_directory_importable(), _argument_errors():
        model, default_size = load_model(args.model)
    size = args.input or default_size
    if size is None:
        raise CommandError(f"give the input shape with --input: {args.model} has no default")
    try:
        result = summary(model, size, explain=args.explain, max_bytes=_max_bytes(args))
    except MemoryLimitError as e:
        raise _memory_limit_error(e) from None
    except Exception as e:  # noqa: BLE001 - the model's own code decides what it raises
        raise CommandError(f"the model failed on an input of shape {list(size)}: "
                           f"{type(e).__name__}: {e}") from None
    print(result)
    return 0


def main(argv=None):
    """``python -m ember.explain.cli ...`` (the same as ``ember explain ...``)."""
    from ember.cli import main as ember_main
    return ember_main(["explain", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
