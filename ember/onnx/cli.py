"""``ember export CHECKPOINT --onnx model.onnx``: the ``ember demo`` model, out to ONNX.

Rebuilds the demo's architecture (``ember.demo.build_model``), loads the checkpoint (the demo's
``{"model": state_dict, "normalization": ...}`` or a bare state_dict), exports it with a dynamic
batch axis, checks the file with ``onnx.checker`` and, when onnxruntime is installed, runs it on
bundled digit images and prints the largest difference from ember's own outputs.
"""
from __future__ import annotations

import os

import numpy as np

from ember.cli import CommandError

INPUT, OUTPUT, BATCH = "images", "logits", "batch"
SAMPLE_SIZE = 16  # digit images compared between onnxruntime and ember


def add_subcommand(subparsers) -> None:
    """Register ``ember export`` on the ``ember`` command's subparsers."""
    p = subparsers.add_parser(
        "export", help="export an `ember demo` checkpoint to ONNX",
        description="Rebuild the `ember demo` CNN, load CHECKPOINT (written by `ember demo`, or "
                    "a state_dict saved with ember.save), export it to ONNX with a dynamic "
                    "batch axis, check the file with onnx.checker and, if onnxruntime is "
                    "installed, compare its outputs with ember's on bundled digit images. The "
                    "ONNX model takes standardised images (N, 1, 8, 8); the mean and std the "
                    "demo trained with are printed and stored in the model's metadata.")
    p.add_argument("checkpoint", metavar="CHECKPOINT",
                   help="checkpoint file, e.g. ember-demo/digits_cnn.safetensors")
    p.add_argument("--onnx", required=True, metavar="PATH", help="the ONNX file to write")
    p.add_argument("--opset", type=int, default=None,
                   help="ONNX opset version, 13 to 20 (default: 17)")
    p.set_defaults(func=_run)


def _run(args) -> int:
    import ember
    from ember.demo import build_model, load_digits
    from ._graph import onnx_module

    try:
        onnx = onnx_module()
    except ModuleNotFoundError as e:
        raise CommandError(str(e)) from None
    state, normalization = _read_checkpoint(args.checkpoint)
    model = build_model()
    try:
        model.load_state_dict(state)
    except (RuntimeError, KeyError) as e:
        reason = " ".join(str(e).split())  # load_state_dict's lines, as one
        raise CommandError(f"{args.checkpoint} does not hold the `ember demo` model: "
                           f"{reason}") from None
    model.eval()
    images = load_digits()[0][:SAMPLE_SIZE]
    mean, std = normalization if normalization else (0.0, 1.0)
    sample = ember.from_numpy(((images - mean) / std).astype(np.float32))
    folder = os.path.dirname(os.path.abspath(args.onnx))
    if not os.path.isdir(folder):
        raise CommandError(f"cannot write {args.onnx}: the folder {folder} does not exist")
    try:
        ember.onnx.export(model, (sample[:1],), args.onnx, input_names=[INPUT],
                          output_names=[OUTPUT], opset_version=args.opset,
                          dynamic_axes={INPUT: {0: BATCH}, OUTPUT: {0: BATCH}})
    except ValueError as e:
        raise CommandError(str(e)) from None
    proto = onnx.load(args.onnx)
    if normalization:  # what the inputs must be standardised with, kept beside the weights
        for key, value in (("input_mean", mean), ("input_std", std)):
            entry = proto.metadata_props.add()
            entry.key, entry.value = key, repr(float(value))
        onnx.save_model(proto, args.onnx)
    onnx.checker.check_model(args.onnx, full_check=True)
    print(f"wrote {args.onnx} ({os.path.getsize(args.onnx):,} bytes, opset "
          f"{proto.opset_import[0].version}): input '{INPUT}' ({BATCH}, 1, 8, 8) float32, "
          f"output '{OUTPUT}' ({BATCH}, 10)")
    if normalization:
        print(f"inputs are standardised images: (pixels - {mean:.6g}) / {std:.6g} "
              "(stored as metadata input_mean, input_std)")
    print("onnx.checker: the model is valid")
    _compare(args.onnx, model, sample)
    return 0


def _read_checkpoint(path):
    """(state_dict, (mean, std) or None) from a demo checkpoint or a bare state_dict."""
    import ember

    if not os.path.isfile(path):
        raise CommandError(f"no checkpoint at {path}")
    try:
        ckpt = ember.load(path)
    except Exception as e:  # any unreadable file: one line saying why
        raise CommandError(f"cannot read the checkpoint {path}: {e}") from None
    if not isinstance(ckpt, dict):
        raise CommandError(f"{path} holds a {type(ckpt).__name__}, expected a state_dict or "
                           "the `ember demo` checkpoint (a dict with a 'model' state_dict)")
    state = ckpt.get("model", ckpt)
    norm = ckpt.get("normalization")
    normalization = (float(norm["mean"]), float(norm["std"])) if norm else None
    return state, normalization


def _compare(path, model, sample):
    import ember

    try:
        import onnxruntime
    except ModuleNotFoundError:
        print("onnxruntime is not installed: skipped running the model "
              "(pip install onnxruntime)")
        return
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    got = session.run(None, {INPUT: sample.numpy()})[0]
    with ember.no_grad():
        want = model(sample).numpy()
    diff = float(np.abs(got - want).max())
    print(f"onnxruntime: {len(sample)} digit images, max |onnxruntime - ember| = {diff:.3g}")
