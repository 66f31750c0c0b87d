"""Feature maps: what random and classic 3x3 kernels see in a photo.

A photo goes through ``Conv2d(3, 1, 3)`` - with the default random initialisation under several
seeds, and with two classic hand-made kernels - then through ReLU and 2x2 max and average
pooling, and everything is saved as one labelled image grid: "different kernels see different
patterns". Every map is computed by ember's own layers.

The bundled photo (``ember/explain/data/grace_hopper.jpg``) is an official U.S. Navy portrait,
in the public domain; see ``ember/explain/README.md``.
"""
from __future__ import annotations

import dataclasses
import os

import numpy as np

from ember.explain.limits import MissingExtraError

__all__ = ["BUNDLED_IMAGE", "load_image", "feature_maps", "FeatureMaps", "features_figure",
           "CLASSIC_KERNELS"]

BUNDLED_IMAGE = os.path.join(os.path.dirname(__file__), "data", "grace_hopper.jpg")

# Classic 3x3 kernels, applied to the luminance (the same kernel on R, G and B, divided by 3).
CLASSIC_KERNELS = {
    "vertical edges (Sobel x)": np.array([[1, 0, -1], [2, 0, -2], [1, 0, -1]], dtype=np.float64),
    "horizontal edges (Sobel y)": np.array([[1, 2, 1], [0, 0, 0], [-1, -2, -1]], dtype=np.float64),
}


def _require_pillow():
    try:
        from PIL import Image
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise MissingExtraError("ember.explain's images need Pillow: pip install 'ember[explain]'") from e
    return Image


def load_image(path=None, size=160) -> np.ndarray:
    """An RGB image as a float64 array ``(3, H, W)`` in [0, 1], its longer side scaled to
    ``size`` pixels (None: as is). ``path=None`` loads the bundled photo."""
    Image = _require_pillow()
    with Image.open(path or BUNDLED_IMAGE) as im:
        im = im.convert("RGB")
        if size is not None and max(im.size) != size:
            scale = size / max(im.size)
            im = im.resize((max(1, round(im.size[0] * scale)), max(1, round(im.size[1] * scale))),
                           Image.LANCZOS)
        return np.asarray(im, dtype=np.float64).transpose(2, 0, 1) / 255.0


@dataclasses.dataclass
class FeatureRow:
    label: str
    kernel: np.ndarray            # (3, 3, 3): the Conv2d(3, 1, 3) weight
    bias: float
    conv: np.ndarray              # (H-2, W-2)
    relu: np.ndarray
    max_pool: np.ndarray          # max_pool2d(relu, 2)
    avg_pool: np.ndarray          # avg_pool2d(relu, 2)


@dataclasses.dataclass
class FeatureMaps:
    image: np.ndarray             # (3, H, W)
    rows: list


def feature_maps(image=None, seeds=(0, 1, 2, 3), classic=True, size=160) -> FeatureMaps:
    """Run the photo (a path or a ``(3, H, W)`` array; None: the bundled one) through
    ``Conv2d(3, 1, 3)`` for each seed (``ember.manual_seed(seed)`` before building the layer,
    so its weights are ember's default init) and, if ``classic``, the classic kernels; then
    ReLU, 2x2 max pooling and 2x2 average pooling."""
    import ember
    from ember import nn

    if image is None or isinstance(image, (str, os.PathLike)):
        image = load_image(image, size)
    image = np.asarray(image, dtype=np.float64)
    if image.ndim != 3 or image.shape[0] != 3:
        raise ValueError(f"expected an RGB image of shape (3, H, W), got {image.shape}")
    x = ember.tensor(image[None])
    layers = []
    for seed in seeds:
        ember.manual_seed(int(seed))
        layers.append((f"seed {seed}", nn.Conv2d(3, 1, 3).double()))
    if classic:
        for name, k in CLASSIC_KERNELS.items():
            conv = nn.Conv2d(3, 1, 3, bias=False).double()
            conv.weight = nn.Parameter(ember.tensor(np.broadcast_to(k / 3, (1, 3, 3, 3)).copy()))
            layers.append((name, conv))
    F = nn.functional
    rows = []
    with ember.no_grad():
        for label, conv in layers:
            y = conv(x)
            r = F.relu(y)
            bias = float(conv.bias.detach().numpy()[0]) if conv.bias is not None else 0.0
            rows.append(FeatureRow(label, conv.weight.detach().numpy()[0].copy(), bias, y.numpy()[0, 0],
                                   r.numpy()[0, 0], F.max_pool2d(r, 2).numpy()[0, 0],
                                   F.avg_pool2d(r, 2).numpy()[0, 0]))
    return FeatureMaps(image, rows)


def features_figure(maps: FeatureMaps):
    """One row per kernel: the kernel, conv output, ReLU, max pool, avg pool."""
    try:
        from matplotlib.figure import Figure
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise MissingExtraError("ember.explain's plots need matplotlib: pip install 'ember[explain]'") from e
    columns = ["kernel (R | G | B)", "Conv2d(3, 1, 3)", "ReLU", "MaxPool2d(2)", "AvgPool2d(2)"]
    n = len(maps.rows) + 1
    H, W = maps.image.shape[1:]
    cell = 1.9
    fig = Figure(figsize=(cell * 5.2, cell * n * H / W * 0.95 + 0.5), dpi=90, layout="constrained")
    axes = fig.subplots(n, 5, squeeze=False)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0, 0].set_visible(False)
    axes[0, 1].imshow(maps.image.transpose(1, 2, 0), interpolation="nearest")
    axes[0, 1].set_title(f"input {H}x{W}", fontsize=9)
    axes[0, 1].set_ylabel("photo", fontsize=9)
    for ax in axes[0, 2:]:
        ax.set_visible(False)
    for i, row in enumerate(maps.rows, start=1):
        _draw_kernel(axes[i, 0], row.kernel)
        axes[i, 0].set_ylabel(row.label, fontsize=9)
        limit = float(np.abs(row.conv).max()) or 1.0
        axes[i, 1].imshow(row.conv, cmap="RdBu_r", vmin=-limit, vmax=limit, interpolation="nearest")
        for ax, m in zip(axes[i, 2:], (row.relu, row.max_pool, row.avg_pool)):
            ax.imshow(m, cmap="magma", vmin=0, vmax=float(m.max()) or 1.0, interpolation="nearest")
        if i == 1:
            for ax, title in zip(axes[i], columns):
                ax.set_title(title, fontsize=9)
        for ax, m in zip(axes[i, 1:], (row.conv, row.relu, row.max_pool, row.avg_pool)):
            ax.set_xlabel(f"{m.shape[0]}x{m.shape[1]}", fontsize=7, labelpad=1)
    fig.suptitle("One random 3x3 filter per row (ember's default init, by seed), then two classic "
                 "ones:\nred = positive, blue = negative response; ReLU keeps the positive part",
                 fontsize=9)
    return fig


def _draw_kernel(ax, kernel):
    """The 3 input-channel slices of a (3, k, k) kernel side by side, numbers written in."""
    k = kernel.shape[-1]
    gap = np.full((k, 1), np.nan)
    strip = np.concatenate([kernel[0], gap, kernel[1], gap, kernel[2]], axis=1)
    limit = float(np.nanmax(np.abs(strip))) or 1.0
    ax.imshow(strip, cmap="RdBu_r", vmin=-limit, vmax=limit)
    for (i, j), v in np.ndenumerate(strip):
        if not np.isnan(v):
            ax.text(j, i, f"{v:.2f}".replace("0.", ".").replace("-.", "-."), ha="center",
                    va="center", fontsize=5.5, color="white" if abs(v) > 0.6 * limit else "black")
