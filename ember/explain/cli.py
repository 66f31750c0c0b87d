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
"""
from __future__ import annotations

import argparse
import os
import sys

__all__ = ["add_subcommand", "main"]

_DEFAULT_OUT = "ember-explain"


def _ints(text):
    """'3' -> 3, '3,3' -> (3, 3) (a single number stays an int, as the layers accept)."""
    try:
        values = tuple(int(v) for v in str(text).replace("x", ",").split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected integers separated by commas, got {text!r}") from None
    if not values:
        raise argparse.ArgumentTypeError("expected at least one integer")
    return values[0] if len(values) == 1 else values


def _shape(text):
    value = _ints(text)
    return value if isinstance(value, tuple) else (value,)


def _padding(text):
    return text if text in ("same", "valid") else _ints(text)


def _floats(text):
    try:
        return tuple(float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers separated by commas, got {text!r}") from None


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

    from ember.explain.sizes import OPS
    p = sub.add_parser(
        "size", help="output shape of a conv / pooling / unpooling layer, formula written out",
        description="Work out the output shape, showing each formula with the numbers filled "
                    "in; ceil_mode's last-window rule and impossible configurations explained "
                    "in words.")
    p.add_argument("op", choices=OPS, metavar="OP", help="one of: " + ", ".join(OPS))
    p.add_argument("--input", "-i", type=_shape, required=True, help="input shape, e.g. 1,3,512,512")
    _layer_arguments(p)
    p.set_defaults(func=_cmd_size)

    p = sub.add_parser(
        "matrix", help="convolution as a matrix C: conv(x) == C @ x, conv_transpose(y) == C.T @ y",
        description="Build the unrolled matrix of a small convolution from its weight, check it "
                    "against ember's conv (and ember's conv on basis vectors), show that the "
                    "transposed convolution with the same weight is C.T, and draw C and C.T.")
    p.add_argument("--input", "-i", type=_shape, default=(4, 4), help="spatial input size (default 4,4)")
    p.add_argument("--kernel-size", "-k", type=_ints, default=3)
    p.add_argument("--stride", "-s", type=_ints, default=1)
    p.add_argument("--padding", "-p", type=_ints, default=0)
    p.add_argument("--dilation", "-d", type=_ints, default=1)
    p.add_argument("--in-channels", type=int, default=1)
    p.add_argument("--out-channels", type=int, default=1)
    p.add_argument("--groups", "-g", type=int, default=1)
    p.add_argument("--weights", choices=("arange", "random"), default="arange",
                   help="1, 2, 3, ... (default) or random normal")
    p.add_argument("--seed", type=int, default=0)
    _out(p)
    p.set_defaults(func=_cmd_matrix)

    from ember.explain.animate import ANIMATED_OPS
    p = sub.add_parser(
        "animate", help="GIF of the window sliding over the input, output built element by element",
        description="One frame per output element (plus an intro with the size formula and an "
                    "outro); padding, stride, dilation, ceil_mode overhang and transposed "
                    "convolution's inserted zeros are drawn. Numbers are small random integers "
                    "run through ember's layer.")
    p.add_argument("op", choices=ANIMATED_OPS, metavar="OP", help="one of: " + ", ".join(ANIMATED_OPS))
    p.add_argument("--input", "-i", type=_shape, required=True,
                   help="spatial input size, e.g. 5,5 (2-d) or 7 (1-d)")
    _layer_arguments(p, animate=True)
    p.add_argument("--exclude-pad", action="store_true", help="avg_pool: count_include_pad=False")
    p.add_argument("--divisor-override", type=int, default=None, help="avg_pool2d")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--cell", type=int, default=None, help="cell size in pixels")
    _out(p)
    p.set_defaults(func=_cmd_animate)

    p = sub.add_parser("activation", help="f(x) and f'(x) (by ember's autograd) of an activation",
                       description="Plot an activation and its derivative, computed by ember's "
                                   "autograd, with its range and the peak of f' annotated. NAME "
                                   "'all' draws every activation on one sheet.")
    p.add_argument("name", metavar="NAME", help="e.g. sigmoid, relu, gelu, or 'all'")
    p.add_argument("--range", type=_floats, default=None,
                   help="x range, e.g. --range=-6,6 (with '=': it starts with a minus)")
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                   help="keyword argument of the activation, e.g. negative_slope=0.2")
    _out(p)
    p.set_defaults(func=_cmd_activation)

    p = sub.add_parser("features", help="feature maps of a photo through random Conv2d(3, 1, 3)",
                       description="Run a photo (the bundled public-domain one if IMAGE is not "
                                   "given) through Conv2d(3, 1, 3) with ember's random init under "
                                   "several seeds, and two classic edge kernels; then ReLU, "
                                   "max and average pooling; save the grid.")
    p.add_argument("image", nargs="?", default=None, metavar="IMAGE")
    p.add_argument("--seeds", type=_shape, default=(0, 1, 2, 3))
    p.add_argument("--size", type=int, default=160, help="scale the longer side to this many pixels")
    p.add_argument("--no-classic", action="store_true", help="random kernels only")
    _out(p)
    p.set_defaults(func=_cmd_features)

    p = sub.add_parser("checkerboard", help="ConvTranspose2d(k=3, s=2) vs resize-then-convolve",
                       description="Show the checkerboard artefact of a stride-2 transposed "
                                   "convolution and how resizing, then convolving, avoids it.")
    p.add_argument("--image", default=None, help="a photo (default: the bundled one)")
    p.add_argument("--seed", type=int, default=0)
    _out(p)
    p.set_defaults(func=_cmd_checkerboard)

    from ember.explain.summary import MODELS
    p = sub.add_parser("summary", help="layer-by-layer summary of a model (like torchinfo)",
                       description="Output shape, parameters and multiply-adds of every layer, "
                                   "from one forward pass. MODEL is one of "
                                   f"{', '.join(MODELS)} or 'package.module:attribute' (a "
                                   "Module, a Module class or a function returning one).")
    p.add_argument("model", metavar="MODEL")
    p.add_argument("--input", "-i", type=_shape, default=None,
                   help="input shape (default: the named model's)")
    p.add_argument("--explain", action="store_true",
                   help="show each conv/pool layer's size formula with its numbers")
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

Run 'ember explain SUBCOMMAND --help' for each one's options. Files go to --out
(default ./ember-explain). Plots and GIFs need: pip install 'ember[explain]'.
"""


def _out(p):
    p.add_argument("--out", "-o", default=_DEFAULT_OUT, help=f"output folder (default ./{_DEFAULT_OUT})")


def _out_path(args, name):
    os.makedirs(args.out, exist_ok=True)
    return os.path.join(args.out, name)


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
        if e.lines:
            print("\n".join(e.lines))
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(report)
    return 0


def _cmd_matrix(args):
    from ember.explain.matrix import explain_matrix, matrix_figure
    report = explain_matrix(args.input, args.kernel_size, args.stride, args.padding, args.dilation,
                            args.in_channels, args.out_channels, args.groups, args.weights, args.seed)
    print(report)
    path = _out_path(args, "conv_matrix.png")
    matrix_figure(report).savefig(path)
    _wrote(path)
    return 0


def _cmd_animate(args):
    from ember.explain.animate import animate
    from ember.explain.sizes import SizeError
    try:
        anim = animate(args.op, args.input, kernel_size=args.kernel_size, stride=args.stride,
                       padding=args.padding, dilation=args.dilation,
                       output_padding=args.output_padding, ceil_mode=args.ceil_mode,
                       count_include_pad=not args.exclude_pad, divisor_override=args.divisor_override,
                       output_size=args.output_size, seed=args.seed, cell=args.cell)
    except (SizeError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    path = _out_path(args, f"{args.op}.gif")
    anim.save(path)
    print(f"{args.op}  {anim.scene.title}")
    print("\n".join(anim.scene.intro))
    print(f"{len(anim.frames)} frames: intro, {len(anim.scene.steps)} output elements, outro")
    _wrote(path)
    return 0


def _cmd_activation(args):
    from ember.explain.curves import plot_activation, plot_all_activations
    kwargs = {}
    for item in args.param:
        key, _, value = item.partition("=")
        try:
            kwargs[key] = float(value)
        except ValueError:
            kwargs[key] = value
    if args.name == "all":
        path, curves = plot_all_activations(_out_path(args, "activations.png"),
                                            x_range=args.range or (-4.0, 4.0))
        for curve in curves:
            print(f"{curve.name:12s} " + "; ".join(curve.annotations()[:2]))
        _wrote(path)
        return 0
    try:
        path, curve = plot_activation(args.name, _out_path(args, f"{args.name}.png"),
                                      x_range=args.range or (-6.0, 6.0), **kwargs)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"{curve.name}: " + "\n  ".join(curve.annotations()))
    _wrote(path)
    return 0


def _cmd_features(args):
    import numpy as np

    from ember.explain.features import feature_maps, features_figure
    maps = feature_maps(args.image, seeds=args.seeds, classic=not args.no_classic, size=args.size)
    for row in maps.rows:
        print(f"{row.label:28s} conv output {row.conv.shape[0]}x{row.conv.shape[1]} in "
              f"[{row.conv.min():+.3f}, {row.conv.max():+.3f}], {np.mean(row.relu > 0):.0%} "
              "positive after ReLU")
    path = _out_path(args, "features.png")
    features_figure(maps).savefig(path)
    _wrote(path)
    return 0


def _cmd_checkerboard(args):
    from ember.explain.checkerboard import checkerboard, checkerboard_figure
    cb = checkerboard(args.image, seed=args.seed)
    print(cb.summary())
    path = _out_path(args, "checkerboard.png")
    checkerboard_figure(cb).savefig(path)
    _wrote(path)
    return 0


def _cmd_summary(args):
    from ember.explain.summary import load_model, summary
    model, default_size = load_model(args.model)
    size = args.input or default_size
    if size is None:
        print("error: give the input shape with --input", file=sys.stderr)
        return 1
    print(summary(model, size, explain=args.explain))
    return 0


def main(argv=None):
    """``python -m ember.explain.cli ...`` (the same as ``ember explain ...``)."""
    parser = argparse.ArgumentParser(prog="ember")
    add_subcommand(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["explain", *(sys.argv[1:] if argv is None else argv)])
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
