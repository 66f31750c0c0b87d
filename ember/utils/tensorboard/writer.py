"""SummaryWriter with torch.utils.tensorboard's API, writing TensorBoard event files through
tensorboardX (a maintained pure-Python event writer).

What this layer adds to tensorboardX: ember Tensors are accepted wherever torch accepts
tensors; images are checked (1, 3 or 4 channels, a known ``dataformats``) and converted to
uint8 with torch's rule (uint8 kept, anything else ``clip(x * 255, 0, 255)`` - tensorboardX
does not clip, so a conv output outside ``[0, 1]`` would wrap around); ``add_scalars`` lays out
its sub-runs as torch does (``<log_dir>/<main_tag>_<tag>``).
"""
from __future__ import annotations

import os
import socket
import time
from datetime import datetime

import numpy as np

__all__ = ["SummaryWriter"]


def _tbx():
    try:
        import tensorboardX
    except ImportError as error:  # pragma: no cover - tensorboardX is an optional dependency
        raise ImportError("ember.utils.tensorboard needs tensorboardX: pip install tensorboardX") from error
    return tensorboardX


def _to_numpy(x) -> np.ndarray:
    """An ember Tensor, NumPy array, Python number or (nested) list as an ndarray."""
    data = getattr(x, "_data", None)
    if isinstance(data, np.ndarray):
        return data
    if isinstance(x, np.ndarray):
        return x
    return np.asarray(x)


def _scalar_value(value) -> float:
    array = _to_numpy(value).squeeze()
    if array.ndim != 0:
        raise ValueError("Tensor should contain one element (0 dimensions). Was given size: "
                         f"{array.size} and {array.ndim} dimensions.")
    return float(array)


def _image_to_uint8(img, dataformats: str, what: str) -> np.ndarray:
    """Validate an image (batch) against ``dataformats`` and convert it as torch's
    ``summary.image`` does: uint8 unchanged, other dtypes ``clip(x * 255, 0, 255)``."""
    array = _to_numpy(img)
    fmt = dataformats.upper()
    if len(set(fmt)) != len(fmt) or not set(fmt) <= set("NCHW") or not {"H", "W"} <= set(fmt):
        raise ValueError(f"{what}: dataformats should be a permutation of HW, CHW/HWC or NCHW/NHWC, "
                         f"got {dataformats!r}")
    if array.ndim != len(fmt):
        raise ValueError(f"{what}: an image of dataformats {dataformats!r} needs {len(fmt)} "
                         f"dimensions, got shape {tuple(array.shape)}")
    if "C" in fmt and array.shape[fmt.index("C")] not in (1, 3, 4):
        raise ValueError(f"{what}: images must have 1, 3 or 4 channels (grayscale, RGB, RGBA), got "
                         f"{array.shape[fmt.index('C')]} channels in shape {tuple(array.shape)} "
                         f"(dataformats {dataformats!r})")
    if "N" in fmt and array.shape[fmt.index("N")] == 0:
        raise ValueError(f"{what}: the batch of images is empty")
    if array.dtype == np.uint8:
        return array
    return np.clip(array.astype(np.float32) * 255, 0, 255).astype(np.uint8)


class SummaryWriter:
    """Write scalars, images, histograms, text and figures for TensorBoard
    (``tensorboard --logdir runs``), as torch.utils.tensorboard.SummaryWriter.

    Args:
        log_dir: the run's folder; default ``runs/<Mon DD_HH-MM-SS>_<hostname><comment>``.
        comment: appended to the default ``log_dir`` (ignored when ``log_dir`` is given).
        purge_step: hide events at or after this step from an earlier crashed run.
        max_queue: pending events before a write to disk is forced.
        flush_secs: seconds between automatic flushes.
        filename_suffix: suffix of the event file names.

    Values may be ember Tensors, NumPy arrays or Python numbers. Use it as a context manager
    to close it at the end::

        with SummaryWriter("runs/conv") as writer:
            writer.add_images("input", imgs, step)   # N x C x H x W, C in (1, 3, 4)
    """

    def __init__(self, log_dir: str | None = None, comment: str = "", purge_step: int | None = None,
                 max_queue: int = 10, flush_secs: int = 120, filename_suffix: str = "") -> None:
        if not log_dir:
            current_time = datetime.now().strftime("%b%d_%H-%M-%S")
            log_dir = os.path.join("runs", current_time + "_" + socket.gethostname() + comment)
        self.log_dir = str(log_dir)
        self.purge_step = purge_step
        self.max_queue = max_queue
        self.flush_secs = flush_secs
        self.filename_suffix = filename_suffix
        self._writer = _tbx().SummaryWriter(logdir=self.log_dir, purge_step=purge_step,
                                            max_queue=max_queue, flush_secs=flush_secs,
                                            filename_suffix=filename_suffix)
        self._scalars_writers: dict[str, object] = {}

    def get_logdir(self) -> str:
        return self.log_dir

    def _file_writer(self):
        return self._writer._get_file_writer()  # recreated after close(), as torch's

    # -- scalars ---------------------------------------------------------------------------------

    def add_scalar(self, tag: str, scalar_value, global_step: int | None = None,
                   walltime: float | None = None, new_style: bool = False,
                   double_precision: bool = False) -> None:
        """One value of the series ``tag`` at ``global_step``. ``new_style`` writes it as a
        tensor summary (what TensorBoard's scalars plugin reads natively), as torch."""
        value = _scalar_value(scalar_value)
        if not new_style:
            self._writer.add_scalar(tag, value, global_step, walltime)
            return
        from tensorboardX.proto.summary_pb2 import Summary, SummaryMetadata
        from tensorboardX.proto.tensor_pb2 import TensorProto

        proto = (TensorProto(double_val=[value], dtype="DT_DOUBLE") if double_precision
                 else TensorProto(float_val=[value], dtype="DT_FLOAT"))
        metadata = SummaryMetadata(plugin_data=SummaryMetadata.PluginData(plugin_name="scalars"))
        summary = Summary(value=[Summary.Value(tag=tag, tensor=proto, metadata=metadata)])
        self._file_writer().add_summary(summary, global_step, walltime)

    def add_scalars(self, main_tag: str, tag_scalar_dict: dict, global_step: int | None = None,
                    walltime: float | None = None) -> None:
        """Several series in one chart: each ``tag`` is a run of its own in
        ``<log_dir>/<main_tag>_<tag>`` logging under ``main_tag`` (torch's layout)."""
        from tensorboardX.summary import scalar

        walltime = time.time() if walltime is None else walltime
        logdir = self._file_writer().get_logdir()
        for tag, scalar_value in tag_scalar_dict.items():
            fw_tag = logdir + "/" + main_tag.replace("/", "_") + "_" + tag
            writer = self._scalars_writers.get(fw_tag)
            if writer is None:
                writer = _tbx().FileWriter(fw_tag, max_queue=self.max_queue,
                                           flush_secs=self.flush_secs,
                                           filename_suffix=self.filename_suffix)
                self._scalars_writers[fw_tag] = writer
            writer.add_summary(scalar(main_tag, _scalar_value(scalar_value)), global_step, walltime)

    # -- images ----------------------------------------------------------------------------------

    def add_image(self, tag: str, img_tensor, global_step: int | None = None,
                  walltime: float | None = None, dataformats: str = "CHW") -> None:
        """One image, ``C x H x W`` by default (``HWC``, ``HW`` with ``dataformats``).
        Floats are taken in ``[0, 1]``, uint8 in ``[0, 255]``."""
        image = _image_to_uint8(img_tensor, dataformats, "add_image")
        self._writer.add_image(tag, image, global_step, walltime, dataformats=dataformats)

    def add_images(self, tag: str, img_tensor, global_step: int | None = None,
                   walltime: float | None = None, dataformats: str = "NCHW") -> None:
        """A batch of images, ``N x C x H x W`` by default (``NHWC`` with ``dataformats``),
        shown tiled in one image (8 per row)."""
        image = _image_to_uint8(img_tensor, dataformats, "add_images")
        self._writer.add_images(tag, image, global_step, walltime, dataformats=dataformats)

    def add_figure(self, tag: str, figure, global_step: int | None = None, close: bool = True,
                   walltime: float | None = None) -> None:
        """A matplotlib figure (or a list of them) rendered to an image."""
        self._writer.add_figure(tag, figure, global_step, close, walltime)

    # -- other -----------------------------------------------------------------------------------

    def add_histogram(self, tag: str, values, global_step: int | None = None,
                      bins="tensorflow", walltime: float | None = None, max_bins=None) -> None:
        """A histogram of ``values`` (``bins``: "tensorflow", or anything np.histogram takes)."""
        values = _to_numpy(values)
        if values.size == 0:
            raise ValueError("add_histogram: the input has no element")
        self._writer.add_histogram(tag, values, global_step, bins, walltime, max_bins)

    def add_text(self, tag: str, text_string: str, global_step: int | None = None,
                 walltime: float | None = None) -> None:
        """Markdown text."""
        self._writer.add_text(tag, text_string, global_step, walltime)

    def add_hparams(self, hparam_dict: dict, metric_dict: dict, hparam_domain_discrete=None,
                    run_name: str | None = None, global_step: int | None = None) -> None:
        """Hyperparameters and their metrics, for TensorBoard's HParams tab."""
        metrics = {k: _scalar_value(v) for k, v in metric_dict.items()}
        self._writer.add_hparams(hparam_dict, metrics, name=run_name, global_step=global_step)

    def flush(self) -> None:
        """Write pending events to disk."""
        if self._writer.all_writers is not None:
            self._writer.flush()
        for writer in self._scalars_writers.values():
            writer.flush()

    def close(self) -> None:
        """Flush and close the event files (a later ``add_*`` opens new ones, as torch)."""
        if self._writer.all_writers is not None:
            self._writer.close()
        for writer in self._scalars_writers.values():
            writer.flush()
            writer.close()
        self._scalars_writers = {}

    def __enter__(self) -> "SummaryWriter":
        return self

    def __exit__(self, exc_type, exc_val, exc_tb) -> None:
        self.close()
