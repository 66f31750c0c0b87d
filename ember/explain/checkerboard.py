"""Checkerboard artefacts: ``ConvTranspose2d(kernel_size=3, stride=2)`` against
resize-then-convolve (Odena, Dumoulin & Olah, "Deconvolution and Checkerboard Artifacts",
Distill 2016).

With stride 2 a 3-wide kernel overlaps itself unevenly: along each axis, output cells
alternately receive 1 and 2 kernel taps, so in 2-d some cells get 1, some 2 and some 4
contributions. Even on a constant image with a constant kernel the output is a checkerboard.
Upsampling first (nearest neighbour) and then convolving with stride 1 gives every output
cell the same number of taps, and the pattern is gone.

Both paths are computed by ember's layers with the same 3x3 kernel and give the same output
size (2H x 2W: ``padding=1, output_padding=1`` for the transposed convolution, ``padding=1``
after the resize).
"""
from __future__ import annotations

import dataclasses

import numpy as np

from ember.explain.limits import MissingExtraError

__all__ = ["checkerboard", "Checkerboard", "checkerboard_figure"]


@dataclasses.dataclass
class Checkerboard:
    kernel: np.ndarray                 # (3, 3)
    constant: np.ndarray               # the constant input (H, W)
    constant_transposed: np.ndarray    # ConvTranspose2d(3, s=2) of it (2H, 2W): taps per pixel
    constant_resized: np.ndarray       # nearest x2 then Conv2d(3) (2H, 2W)
    photo: np.ndarray                  # grey photo (H, W)
    photo_transposed: np.ndarray
    photo_resized: np.ndarray

    def summary(self) -> str:
        t = self.constant_transposed[2:-2, 2:-2]   # away from the border's zero padding
        r = self.constant_resized[2:-2, 2:-2]
        values = ", ".join(f"{v:g}" for v in np.unique(np.round(t, 6)))
        even = ", ".join(f"{v:g}" for v in np.unique(np.round(r, 6)))
        return "\n".join([
            "A constant image of ones, the 3x3 kernel of ones:",
            f"  ConvTranspose2d(k=3, s=2): interior values {{{values}}}  (each value counts the "
            "kernel taps that reach the pixel: the checkerboard)",
            f"  nearest x2, then Conv2d(k=3): interior values {{{even}}}  (even)",
            f"  spread (max - min) of the interior: {np.ptp(t):g} vs {np.ptp(r):g}",
        ])


def checkerboard(photo=None, size=96, seed=0) -> Checkerboard:
    """Compute both upsampling paths on a constant image (kernel of ones: the pure overlap
    pattern) and on a grey photo (a random kernel from ``seed``, both paths sharing it)."""
    import ember
    import ember.nn.functional as F
    from ember.explain.features import load_image

    ones_kernel = np.ones((3, 3))
    constant = np.ones((8, 8))
    rgb = load_image(photo, size) if photo is None or isinstance(photo, str) else np.asarray(photo)
    grey = rgb.mean(axis=0) if rgb.ndim == 3 else rgb
    # a random kernel with positive mean (like a learned smoothing filter), so the overlap
    # pattern shows on top of the image
    rng = np.random.default_rng(seed)
    random_kernel = np.abs(rng.standard_normal((3, 3))) + 0.5

    def transposed(img, k):
        y = F.conv_transpose2d(ember.tensor(img[None, None]), ember.tensor(k[None, None]),
                               None, 2, 1, 1)
        return y.numpy()[0, 0]

    def resized(img, k):
        up = np.repeat(np.repeat(img, 2, axis=0), 2, axis=1)   # nearest-neighbour x2
        y = F.conv2d(ember.tensor(up[None, None]), ember.tensor(k[None, None]), None, 1, 1)
        return y.numpy()[0, 0]

    return Checkerboard(ones_kernel, constant, transposed(constant, ones_kernel),
                        resized(constant, ones_kernel), grey, transposed(grey, random_kernel),
                        resized(grey, random_kernel))


def checkerboard_figure(cb: Checkerboard):
    """Constant image (top) and photo (bottom): input, transposed conv, resize-conv."""
    try:
        from matplotlib.figure import Figure
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise MissingExtraError("ember.explain's plots need matplotlib: pip install 'ember[explain]'") from e
    fig = Figure(figsize=(11, 7.4), dpi=100, layout="constrained")
    axes = fig.subplots(2, 3)
    titles = ["input", "ConvTranspose2d(k=3, stride=2)", "nearest x2, then Conv2d(k=3)"]
    rows = [(cb.constant, cb.constant_transposed, cb.constant_resized, "constant image, kernel of ones"),
            (cb.photo, cb.photo_transposed, cb.photo_resized, "photo, one random positive kernel")]
    for r, (inp, t, z, label) in enumerate(rows):
        for c, (ax, img) in enumerate(zip(axes[r], (inp, t, z))):
            # crop the photo's outputs to a detail so single pixels are visible
            view = img if r == 0 else img[: img.shape[0] // 2, img.shape[1] // 4: 3 * img.shape[1] // 4]
            lo, hi = (np.percentile(view, 1), np.percentile(view, 99)) if r else (0.0, view.max())
            image = ax.imshow(view, cmap="gray" if r else "viridis", vmin=lo, vmax=hi,
                              interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"{titles[c]}\n{img.shape[0]}x{img.shape[1]}" + (" (detail)" if r else ""),
                         fontsize=10)
            if r == 0 and c:
                _annotate_values(ax, view)
            if c == 0:
                ax.set_ylabel(label, fontsize=10)
            if r == 0:
                fig.colorbar(image, ax=ax, shrink=0.75)
    fig.suptitle("Checkerboard artefacts: a stride-2 transposed convolution overlaps its 3x3 "
                 "kernel unevenly (1, 2 or 4 taps per pixel);\nresizing first and convolving "
                 "with stride 1 gives every pixel 9 taps", fontsize=11)
    return fig


def _annotate_values(ax, img):
    if img.shape[0] > 26:
        return
    top = img.max()
    for (i, j), v in np.ndenumerate(img):
        ax.text(j, i, f"{v:g}", ha="center", va="center", fontsize=6,
                color="black" if v > 0.6 * top else "white")
