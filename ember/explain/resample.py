"""Upsampling modes side by side, and pixel shuffle as a rearrangement.

``F.interpolate`` fills the new pixels from old ones in different ways: ``nearest`` copies
the source pixel at ``floor(dst * in / out)`` (blocks), ``nearest-exact`` rounds half-pixel
centres instead, ``bilinear`` blends the 4 nearest pixels with ``align_corners=False``'s
half-pixel centres (``align_corners=True`` pins the corner pixels), ``bicubic`` blends 16 with
a cubic kernel (it can overshoot the input's range). ``PixelShuffle(r)`` computes nothing: it
moves the ``r*r`` channels of each pixel into an ``r x r`` block,
``(C*r*r, H, W) -> (C, H*r, W*r)``, so a convolution that produces ``r*r`` channels learns
the sub-pixel values (ESPCN, Shi et al. 2016).
"""
from __future__ import annotations

import dataclasses

import numpy as np

from ember.explain.limits import MissingExtraError

__all__ = ["upsample_modes", "Upsampled", "upsample_figure", "pixel_shuffle_layout",
           "PixelShuffleLayout", "pixel_shuffle_figure", "MODES"]

MODES = (("nearest", None), ("nearest-exact", None), ("bilinear", False), ("bilinear", True),
         ("bicubic", False))


@dataclasses.dataclass
class Upsampled:
    image: np.ndarray           # (h, w) grey input
    scale: int
    results: dict               # label -> (h*scale, w*scale)

    def summary(self) -> str:
        h, w = self.image.shape
        lines = [f"F.interpolate of a {h}x{w} image by scale_factor={self.scale} -> "
                 f"{h * self.scale}x{w * self.scale}:"]
        for label, out in self.results.items():
            lines.append(f"  {label:34s} range [{out.min():.3f}, {out.max():.3f}]"
                         f"  (input [{self.image.min():.3f}, {self.image.max():.3f}])")
        lines.append("  nearest keeps the input's values (blocks); bilinear stays inside their "
                     "range; bicubic can overshoot it (ringing at edges)")
        return "\n".join(lines)


def _label(mode, align_corners):
    return mode if align_corners is None else f"{mode}, align_corners={align_corners}"


def upsample_modes(image=None, scale: int = 4, size: int = 12) -> Upsampled:
    """Upsample a small grey image (default: a ``size`` x ``size`` crop of the bundled photo)
    with every mode in :data:`MODES`."""
    import ember
    import ember.nn.functional as F
    from ember.explain.features import load_image

    if not 1 <= scale <= 32:
        raise ValueError(f"scale must be between 1 and 32 (a picture, not a benchmark), got {scale}")
    if image is None:
        rgb = load_image(None, 4 * size)
        image = rgb.mean(axis=0)[size: 2 * size, size: 2 * size]
    image = np.asarray(image, dtype=np.float32)
    if image.ndim != 2:
        raise ValueError(f"expected a 2-d grey image, got shape {image.shape}")
    x = ember.tensor(image[None, None])
    results = {}
    for mode, align_corners in MODES:
        y = F.interpolate(x, scale_factor=scale, mode=mode, align_corners=align_corners)
        results[_label(mode, align_corners)] = y.numpy()[0, 0]
    return Upsampled(image, scale, results)


def upsample_figure(u: Upsampled):
    try:
        from matplotlib.figure import Figure
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise MissingExtraError("ember.explain's plots need matplotlib: pip install 'ember[explain]'") from e
    panels = [("input", u.image)] + list(u.results.items())
    fig = Figure(figsize=(3.1 * len(panels), 3.6), dpi=100, layout="constrained")
    axes = fig.subplots(1, len(panels))
    lo, hi = float(u.image.min()), float(u.image.max())
    for ax, (label, img) in zip(axes, panels):
        ax.imshow(img, cmap="gray", vmin=lo, vmax=hi, interpolation="nearest")
        ax.set_title(f"{label}\n{img.shape[0]}x{img.shape[1]}", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(f"F.interpolate(scale_factor={u.scale}): the same input, five ways to fill "
                 f"the new pixels (grey scale clipped to the input's range)", fontsize=10)
    return fig


@dataclasses.dataclass
class PixelShuffleLayout:
    factor: int
    channels: int               # output channels C
    height: int
    width: int
    source_channel: np.ndarray  # (C, H*r, W*r): which input channel each output pixel came from
    source_pixel: np.ndarray    # (C, H*r, W*r, 2): and from which input (row, column)

    def summary(self) -> str:
        r, c, h, w = self.factor, self.channels, self.height, self.width
        return "\n".join([
            f"PixelShuffle({r}): [N, {c * r * r}, {h}, {w}] -> [N, {c}, {h * r}, {w * r}]",
            f"  out[c, y, x] = in[c*{r * r} + (y % {r})*{r} + (x % {r}), y // {r}, x // {r}]",
            "  nothing is computed: each input pixel's r*r channels become an r x r block; "
            f"PixelUnshuffle({r}) is the inverse",
        ])


def pixel_shuffle_layout(factor: int = 2, channels: int = 1, height: int = 3,
                         width: int = 3) -> PixelShuffleLayout:
    """Run ``F.pixel_shuffle`` on inputs that encode their own channel and position, so the
    output says where each of its pixels came from."""
    import ember
    import ember.nn.functional as F

    if min(factor, channels, height, width) < 1:
        raise ValueError("factor, channels, height and width must be positive")
    if channels * factor * factor > 64 or height * width > 64:
        raise ValueError(f"too many cells to label: {channels * factor * factor} input channels "
                         f"of {height}x{width} (at most 64 of at most 64 pixels)")
    c_in = channels * factor * factor
    shape = (1, c_in, height, width)
    channel_id = np.broadcast_to(np.arange(c_in)[:, None, None], shape[1:]).astype(np.float64)
    rows = np.broadcast_to(np.arange(height)[None, :, None], shape[1:]).astype(np.float64)
    cols = np.broadcast_to(np.arange(width)[None, None, :], shape[1:]).astype(np.float64)
    out = [F.pixel_shuffle(ember.tensor(a[None].copy()), factor).numpy()[0]
           for a in (channel_id, rows, cols)]
    return PixelShuffleLayout(factor, channels, height, width, out[0].astype(int),
                              np.stack([out[1], out[2]], -1).astype(int))


def pixel_shuffle_figure(p: PixelShuffleLayout):
    try:
        from matplotlib.figure import Figure
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise MissingExtraError("ember.explain's plots need matplotlib: pip install 'ember[explain]'") from e
    r = p.factor
    c_in = p.channels * r * r
    fig = Figure(figsize=(4 + 1.6 * c_in, 4.4), dpi=100, layout="constrained")
    axes = fig.subplots(1, c_in + 1, width_ratios=[1] * c_in + [r * 1.2])
    cmap = "tab20" if c_in <= 20 else "viridis"
    for k, ax in enumerate(axes[:-1]):
        ax.imshow(np.full((p.height, p.width), k), cmap=cmap, vmin=0, vmax=max(c_in - 1, 1))
        for y in range(p.height):
            for x in range(p.width):
                ax.text(x, y, f"{y},{x}", ha="center", va="center", fontsize=7)
        ax.set_title(f"in ch {k}", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    ax = axes[-1]
    ax.imshow(p.source_channel[0], cmap=cmap, vmin=0, vmax=max(c_in - 1, 1))
    for (y, x), k in np.ndenumerate(p.source_channel[0]):
        sy, sx = p.source_pixel[0, y, x]
        ax.text(x, y, f"{k}\n{sy},{sx}", ha="center", va="center", fontsize=6)
    ax.set_title(f"out ch 0: {p.height * r}x{p.width * r}\n(input channel, input row,col)",
                 fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
    fig.suptitle(f"PixelShuffle({r}): the {r * r} channels of each input pixel become an "
                 f"{r}x{r} block of the output", fontsize=10)
    return fig
