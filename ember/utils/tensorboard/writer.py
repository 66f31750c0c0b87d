"""SummaryWriter with torch.utils.tensorboard's API, writing genuine TensorBoard event files.

The event protocol buffers, the summary builders and the TFRecord framing come from
tensorboardX (a maintained pure-Python implementation). The writing itself is done here,
synchronously, as torch's writer behaves: ``flush()`` returns once every event is on disk
(tensorboardX's background thread may still hold events after its flush), and event file
names carry the process id and a counter, so two files opened in the same second never
collide.

What else this layer adds: ember Tensors are accepted wherever torch accepts tensors; images
are checked (1, 3 or 4 channels, a known ``dataformats``) and converted to uint8 with torch's
rule (uint8 kept, anything else ``clip(x * 255, 0, 255)`` - tensorboardX does not clip, so a
conv output outside ``[0, 1]`` would wrap around); ``add_scalars`` lays out its sub-runs as
torch does (``<log_dir>/<main_tag>_<tag>``). ``add_graph`` builds its graph from one traced forward
pass (``_graph.py``, on the ONNX exporter's tracer, ``ember.autograd.tracing``: every op, also
on tensors that need no gradient; ember has no JIT); where tensorboardX's
builders differ from torch's (video, audio, mesh, the projector's files) ``_summary.py``
follows torch.
"""
from __future__ import annotations

import atexit
import itertools
import os
import socket
import time
import weakref
from datetime import datetime

import numpy as np

__all__ = ["SummaryWriter", "FileWriter"]


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


# histogram bins of TensorFlow's default, as torch's and tensorboardX's writers build them
def _default_bins() -> list[float]:
    v, buckets = 1e-12, []
    while v < 1e20:
        buckets.append(v)
        v *= 1.1
    return [-b for b in reversed(buckets)] + [0] + buckets


class FileWriter:
    """One event file in ``log_dir``, written synchronously: events are appended as they come
    and flushed (with fsync) every ``max_queue`` events, after ``flush_secs``, on ``flush()``
    and on ``close()``."""

    _uid = itertools.count()

    def __init__(self, log_dir: str, max_queue: int = 10, flush_secs: float = 120,
                 filename_suffix: str = "") -> None:
        from tensorboardX.record_writer import RecordWriter

        self.log_dir = str(log_dir)
        os.makedirs(self.log_dir, exist_ok=True)
        # torch's (tensorboard's) naming: time, host, pid and a per-process counter
        name = "events.out.tfevents.%010d.%s.%s.%s%s" % (
            time.time(), socket.gethostname(), os.getpid(), next(FileWriter._uid), filename_suffix)
        self._records = RecordWriter(os.path.join(self.log_dir, name))
        self.max_queue = max_queue
        self.flush_secs = flush_secs
        self._pending = 0
        self._last_flush = time.time()
        self.closed = False
        self.add_event(self._event(wall_time=time.time(), file_version="brain.Event:2"))
        self.flush()

    @staticmethod
    def _event(**fields):
        from tensorboardX.proto.event_pb2 import Event
        return Event(**fields)

    def get_logdir(self) -> str:
        return self.log_dir

    def add_event(self, event, step: int | None = None, walltime: float | None = None) -> None:
        if walltime is not None:
            event.wall_time = walltime
        if step is not None:
            event.step = int(step)
        self._records.write(event.SerializeToString())
        self._pending += 1
        if self._pending >= self.max_queue or time.time() - self._last_flush >= self.flush_secs:
            self.flush()

    def add_summary(self, summary, global_step: int | None = None, walltime: float | None = None) -> None:
        event = self._event(summary=summary, wall_time=time.time() if walltime is None else walltime)
        self.add_event(event, global_step)

    def add_graph(self, graph_profile, walltime: float | None = None) -> None:
        """A GraphDef and its RunMetadata (serialised), as two events (torch's FileWriter)."""
        from tensorboardX.proto.event_pb2 import Event, TaggedRunMetadata

        graph, run_metadata = graph_profile
        self.add_event(Event(graph_def=graph.SerializeToString()), None, walltime)
        tagged = TaggedRunMetadata(tag="step1", run_metadata=run_metadata)
        self.add_event(Event(tagged_run_metadata=tagged), None, walltime)

    def add_onnx_graph(self, graph, walltime: float | None = None) -> None:
        """A GraphDef alone (what an ONNX model converts to)."""
        from tensorboardX.proto.event_pb2 import Event

        self.add_event(Event(graph_def=graph.SerializeToString()), None, walltime)

    def flush(self) -> None:
        if not self.closed:
            self._records.flush()
            self._pending = 0
            self._last_flush = time.time()

    def close(self) -> None:
        if not self.closed:
            self.flush()
            self._records.close()
            self.closed = True


_open_writers: "weakref.WeakSet[SummaryWriter]" = weakref.WeakSet()


@atexit.register
def _flush_open_writers() -> None:
    # events not yet flushed would be lost at exit (torch's writer thread flushes them too)
    for writer in list(_open_writers):
        try:
            writer.flush()
        except Exception:
            pass


class SummaryWriter:
    """Write scalars, images, histograms, text, figures, model graphs, embeddings, PR curves,
    audio, video, meshes and hyperparameters for TensorBoard (``tensorboard --logdir runs``),
    as torch.utils.tensorboard.SummaryWriter.

    Args:
        log_dir: the run's folder; default ``runs/<Mon DD_HH-MM-SS>_<hostname><comment>``.
        comment: appended to the default ``log_dir`` (ignored when ``log_dir`` is given).
        purge_step: hide events at or after this step from an earlier crashed run.
        max_queue: pending events before a write to disk is forced.
        flush_secs: seconds after which pending events are written at the next event.
        filename_suffix: suffix of the event file names.

    Values may be ember Tensors, NumPy arrays or Python numbers. Use it as a context manager
    to close it at the end::

        with SummaryWriter("runs/conv") as writer:
            writer.add_images("input", imgs, step)   # N x C x H x W, C in (1, 3, 4)
    """

    def __init__(self, log_dir: str | None = None, comment: str = "", purge_step: int | None = None,
                 max_queue: int = 10, flush_secs: int = 120, filename_suffix: str = "") -> None:
        _tbx()
        if not log_dir:
            current_time = datetime.now().strftime("%b%d_%H-%M-%S")
            log_dir = os.path.join("runs", current_time + "_" + socket.gethostname() + comment)
        self.log_dir = str(log_dir)
        self.purge_step = purge_step
        self.max_queue = max_queue
        self.flush_secs = flush_secs
        self.filename_suffix = filename_suffix
        self.default_bins = _default_bins()
        self.file_writer = self.all_writers = None
        self._get_file_writer()
        _open_writers.add(self)

    def get_logdir(self) -> str:
        return self.log_dir

    def _get_file_writer(self) -> FileWriter:
        """The run's event file, (re)opened on demand: ``add_*`` after ``close()`` starts a new
        event file, as torch."""
        if self.file_writer is None:
            self.file_writer = FileWriter(self.log_dir, self.max_queue, self.flush_secs,
                                          self.filename_suffix)
            if self.purge_step is not None:
                from tensorboardX.proto.event_pb2 import SessionLog
                self.file_writer.add_event(FileWriter._event(file_version="brain.Event:2"), self.purge_step)
                self.file_writer.add_event(
                    FileWriter._event(session_log=SessionLog(status=SessionLog.START)), self.purge_step)
                self.purge_step = None
            self.all_writers = {self.file_writer.get_logdir(): self.file_writer}
        return self.file_writer

    def _add(self, summary, global_step, walltime) -> None:
        self._get_file_writer().add_summary(summary, global_step, walltime)

    @staticmethod
    def _keep_tag(summary, tag: str):
        # tensorboardX replaces characters like ':' and ' ' in tags; torch keeps tags as given
        for value in summary.value:
            value.tag = tag
        return summary

    # -- scalars ---------------------------------------------------------------------------------

    def add_scalar(self, tag: str, scalar_value, global_step: int | None = None,
                   walltime: float | None = None, new_style: bool = False,
                   double_precision: bool = False) -> None:
        """One value of the series ``tag`` at ``global_step``. ``new_style`` writes it as a
        tensor summary (what TensorBoard's scalars plugin reads natively), as torch."""
        from tensorboardX.proto.summary_pb2 import Summary, SummaryMetadata
        from tensorboardX.proto.tensor_pb2 import TensorProto

        value = _scalar_value(scalar_value)
        if not new_style:
            self._add(Summary(value=[Summary.Value(tag=tag, simple_value=value)]), global_step, walltime)
            return
        proto = (TensorProto(double_val=[value], dtype="DT_DOUBLE") if double_precision
                 else TensorProto(float_val=[value], dtype="DT_FLOAT"))
        metadata = SummaryMetadata(plugin_data=SummaryMetadata.PluginData(plugin_name="scalars"))
        self._add(Summary(value=[Summary.Value(tag=tag, tensor=proto, metadata=metadata)]),
                  global_step, walltime)

    def add_scalars(self, main_tag: str, tag_scalar_dict: dict, global_step: int | None = None,
                    walltime: float | None = None) -> None:
        """Several series in one chart: each ``tag`` is a run of its own in
        ``<log_dir>/<main_tag>_<tag>`` logging under ``main_tag`` (torch's layout)."""
        from tensorboardX.proto.summary_pb2 import Summary

        walltime = time.time() if walltime is None else walltime
        logdir = self._get_file_writer().get_logdir()
        for tag, scalar_value in tag_scalar_dict.items():
            fw_tag = logdir + "/" + main_tag.replace("/", "_") + "_" + tag
            writer = self.all_writers.get(fw_tag)
            if writer is None:
                writer = FileWriter(fw_tag, self.max_queue, self.flush_secs, self.filename_suffix)
                self.all_writers[fw_tag] = writer
            summary = Summary(value=[Summary.Value(tag=main_tag, simple_value=_scalar_value(scalar_value))])
            writer.add_summary(summary, global_step, walltime)

    # -- images ----------------------------------------------------------------------------------

    def add_image(self, tag: str, img_tensor, global_step: int | None = None,
                  walltime: float | None = None, dataformats: str = "CHW") -> None:
        """One image, ``C x H x W`` by default (``HWC``, ``HW`` with ``dataformats``).
        Floats are taken in ``[0, 1]``, uint8 in ``[0, 255]``."""
        from tensorboardX.summary import image

        array = _image_to_uint8(img_tensor, dataformats, "add_image")
        self._add(self._keep_tag(image(tag, array, dataformats=dataformats), tag), global_step, walltime)

    def add_images(self, tag: str, img_tensor, global_step: int | None = None,
                   walltime: float | None = None, dataformats: str = "NCHW") -> None:
        """A batch of images, ``N x C x H x W`` by default (``NHWC`` with ``dataformats``),
        shown tiled in one image (8 per row)."""
        from tensorboardX.summary import image

        array = _image_to_uint8(img_tensor, dataformats, "add_images")
        self._add(self._keep_tag(image(tag, array, dataformats=dataformats), tag), global_step, walltime)

    def add_image_with_boxes(self, tag: str, img_tensor, box_tensor, global_step: int | None = None,
                             walltime: float | None = None, rescale=1, dataformats: str = "CHW",
                             labels=None) -> None:
        """An image with boxes drawn on it: ``box_tensor`` ``K x 4`` as (xmin, ymin, xmax, ymax)
        in pixels, ``labels`` one string per box (ignored when the counts differ, as torch)."""
        from tensorboardX.summary import image_boxes

        boxes = _to_numpy(box_tensor)
        if labels is not None:
            if isinstance(labels, str):
                labels = [labels]
            if len(labels) != boxes.shape[0]:
                labels = None
        array = _image_to_uint8(img_tensor, dataformats, "add_image_with_boxes")
        summary = image_boxes(tag, array, boxes, rescale=rescale, dataformats=dataformats,
                              labels=labels)
        self._add(self._keep_tag(summary, tag), global_step, walltime)

    def add_figure(self, tag: str, figure, global_step: int | None = None, close: bool = True,
                   walltime: float | None = None) -> None:
        """A matplotlib figure (or a list of them, tiled) rendered to an image."""
        from tensorboardX.utils import figure_to_image

        if isinstance(figure, list):
            self.add_images(tag, figure_to_image(figure, close), global_step, walltime, dataformats="NCHW")
        else:
            self.add_image(tag, figure_to_image(figure, close), global_step, walltime, dataformats="CHW")

    # -- other -----------------------------------------------------------------------------------

    def add_histogram(self, tag: str, values, global_step: int | None = None,
                      bins="tensorflow", walltime: float | None = None, max_bins=None) -> None:
        """A histogram of ``values`` (``bins``: "tensorflow", or anything np.histogram takes)."""
        from tensorboardX.summary import histogram

        values = _to_numpy(values)
        if values.size == 0:
            raise ValueError("add_histogram: the input has no element")
        if isinstance(bins, str) and bins == "tensorflow":
            bins = self.default_bins
        summary = histogram(tag, values, bins, max_bins=max_bins)
        self._add(self._keep_tag(summary, tag), global_step, walltime)

    def add_histogram_raw(self, tag: str, min, max, num, sum, sum_squares, bucket_limits,
                          bucket_counts, global_step: int | None = None,
                          walltime: float | None = None) -> None:
        """A histogram computed elsewhere: its statistics, the upper limit of each bucket and
        each bucket's count."""
        from tensorboardX.proto.summary_pb2 import HistogramProto, Summary

        if len(bucket_limits) != len(bucket_counts):
            raise ValueError("len(bucket_limits) != len(bucket_counts), see the document.")
        hist = HistogramProto(min=_scalar_value(min), max=_scalar_value(max), num=_scalar_value(num),
                              sum=_scalar_value(sum), sum_squares=_scalar_value(sum_squares),
                              bucket_limit=_to_numpy(bucket_limits).astype(np.float64).tolist(),
                              bucket=_to_numpy(bucket_counts).astype(np.float64).tolist())
        self._add(Summary(value=[Summary.Value(tag=tag, histo=hist)]), global_step, walltime)

    def add_tensor(self, tag: str, tensor, global_step: int | None = None,
                   walltime: float | None = None) -> None:
        """The whole tensor, in its dtype, as a tensor summary (TensorBoard's "tensor" plugin)."""
        from ._summary import tensor_summary

        self._add(tensor_summary(tag, _to_numpy(tensor)), global_step, walltime)

    def add_text(self, tag: str, text_string: str, global_step: int | None = None,
                 walltime: float | None = None) -> None:
        """Markdown text."""
        from tensorboardX.summary import text

        self._add(self._keep_tag(text(tag, text_string), tag + "/text_summary"), global_step, walltime)

    def add_hparams(self, hparam_dict: dict, metric_dict: dict, hparam_domain_discrete=None,
                    run_name: str | None = None, global_step: int | None = None) -> None:
        """Hyperparameters and their metrics for TensorBoard's HParams tab, in a sub-run
        ``<log_dir>/<run_name>`` (default: the current time), as torch."""
        from tensorboardX.summary import hparams

        if not isinstance(hparam_dict, dict) or not isinstance(metric_dict, dict):
            raise TypeError("hparam_dict and metric_dict should be dictionary.")
        metrics = {k: _scalar_value(v) for k, v in metric_dict.items()}
        exp, ssi, sei = hparams(hparam_dict, metrics)
        run_dir = os.path.join(self._get_file_writer().get_logdir(), run_name or str(time.time()))
        with SummaryWriter(log_dir=run_dir) as w_hp:
            for summary in (exp, ssi, sei):
                w_hp._add(summary, global_step, None)
            for k, v in metrics.items():
                w_hp.add_scalar(k, v, global_step)

    def add_pr_curve(self, tag: str, labels, predictions, global_step: int | None = None,
                     num_thresholds: int = 127, weights=None, walltime: float | None = None) -> None:
        """A precision-recall curve of binary ``labels`` against ``predictions`` in [0, 1], at
        ``num_thresholds`` (at most 127) thresholds."""
        from tensorboardX.summary import pr_curve

        weights = None if weights is None else _to_numpy(weights)
        summary = pr_curve(tag, _to_numpy(labels), _to_numpy(predictions), num_thresholds, weights)
        self._add(summary, global_step, walltime)

    def add_pr_curve_raw(self, tag: str, true_positive_counts, false_positive_counts,
                         true_negative_counts, false_negative_counts, precision, recall,
                         global_step: int | None = None, num_thresholds: int = 127, weights=None,
                         walltime: float | None = None) -> None:
        """A precision-recall curve from counts computed elsewhere (one entry per threshold)."""
        from tensorboardX.summary import pr_curve_raw

        counts = [_to_numpy(x) for x in (true_positive_counts, false_positive_counts,
                                         true_negative_counts, false_negative_counts, precision, recall)]
        self._add(pr_curve_raw(tag, *counts, num_thresholds, weights), global_step, walltime)

    def add_video(self, tag: str, vid_tensor, global_step: int | None = None, fps=4,
                  walltime: float | None = None) -> None:
        """A batch of videos ``N x T x C x H x W`` (uint8 in [0, 255] or floats in [0, 1]),
        tiled into one gif clip. Needs the ``moviepy`` package."""
        from ._summary import video

        self._add(video(tag, _to_numpy(vid_tensor), fps), global_step, walltime)

    def add_audio(self, tag: str, snd_tensor, global_step: int | None = None,
                  sample_rate: int = 44100, walltime: float | None = None) -> None:
        """One channel of sound ``1 x L`` in [-1, 1], written as 16-bit wav."""
        from ._summary import audio

        self._add(audio(tag, _to_numpy(snd_tensor), sample_rate), global_step, walltime)

    def add_mesh(self, tag: str, vertices, colors=None, faces=None, config_dict=None,
                 global_step: int | None = None, walltime: float | None = None) -> None:
        """A mesh or point cloud: ``vertices`` ``B x N x 3``, optional per-vertex ``colors``
        (uint8 in [0, 255] or floats in [0, 1]) and triangle ``faces`` (vertex indices),
        with a Three.js ``config_dict`` (camera, lights, materials)."""
        from ._summary import mesh

        arrays = [None if x is None else _to_numpy(x) for x in (vertices, colors, faces)]
        self._add(mesh(tag, *arrays, config_dict), global_step, walltime)

    def add_custom_scalars(self, layout: dict) -> None:
        """Charts gathering scalar tags: ``{category: {chart: ["Multiline", tags]}}`` or
        ``["Margin", [value, lower, upper]]`` (once per writer)."""
        from tensorboardX.summary import custom_scalars

        for charts in layout.values():
            for kind, tags in charts.values():
                if kind == "Margin" and len(tags) != 3:
                    raise AssertionError("len(tags) != 3")
        self._add(custom_scalars(layout), None, None)

    def add_custom_scalars_multilinechart(self, tags: list, category: str = "default",
                                          title: str = "untitled") -> None:
        """One chart of several scalar tags."""
        self.add_custom_scalars({category: {title: ["Multiline", tags]}})

    def add_custom_scalars_marginchart(self, tags: list, category: str = "default",
                                       title: str = "untitled") -> None:
        """One chart of a value and its lower and upper bounds (three scalar tags)."""
        if len(tags) != 3:
            raise AssertionError(f"Expected 3 tags, got {len(tags)}.")
        self.add_custom_scalars({category: {title: ["Margin", tags]}})

    # -- graph and embeddings --------------------------------------------------------------------

    def add_graph(self, model, input_to_model=None, verbose: bool = False,
                  use_strict_trace: bool = True) -> None:
        """The model's graph for TensorBoard's Graphs tab, from one forward pass on
        ``input_to_model`` (a Tensor, or a tuple or list of the forward's arguments), in
        eval mode. Ops are grouped by the module that ran them (``Net/Conv2d[conv1]/...``);
        ``verbose`` prints the graph. ``use_strict_trace`` is accepted for torch's signature
        (ember records containers as they come; there is no JIT to be strict)."""
        from ._graph import graph

        self._get_file_writer().add_graph(graph(model, input_to_model, verbose))

    def add_onnx_graph(self, prototxt: str) -> None:
        """The graph of the ONNX model in the file ``prototxt`` (needs the ``onnx`` package)."""
        from tensorboardX.onnx_graph import load_onnx_graph

        self._get_file_writer().add_onnx_graph(load_onnx_graph(prototxt))

    @staticmethod
    def _encode(rawstr: str) -> str:
        # a tag as one folder name (torch's escaping)
        return rawstr.replace("%", "%25").replace("/", "%2f").replace("\\", "%5c")

    def add_embedding(self, mat, metadata=None, label_img=None, global_step: int | None = None,
                      tag: str = "default", metadata_header=None) -> None:
        """Points ``mat`` (``N x D``) for TensorBoard's Projector, with optional ``metadata``
        (one label, or one row of ``metadata_header`` columns, per point) and ``label_img``
        (``N x C x H x W`` thumbnails), in ``<log_dir>/<step, 5 digits>/<tag>``."""
        from ._summary import projector_config_pbtxt, write_embedding

        mat = _to_numpy(mat)
        if global_step is None:
            global_step = 0
        subdir = f"{str(global_step).zfill(5)}/{self._encode(tag)}"
        logdir = self._get_file_writer().get_logdir()
        save_path = os.path.join(logdir, subdir)
        if os.path.exists(save_path):
            if not os.path.isdir(save_path):
                raise NotADirectoryError(f"Path: `{save_path}` exists, but is a file. Cannot proceed.")
            print("warning: Embedding dir exists, did you set global_step for add_embedding()?")
        if metadata is not None and mat.shape[0] != len(metadata):
            raise AssertionError("#labels should equal with #data points")
        if label_img is not None:
            label_img = _to_numpy(label_img)
            if mat.shape[0] != label_img.shape[0]:
                raise AssertionError("#images should equal with #data points")
        if mat.ndim != 2:
            raise AssertionError("mat should be 2D, where mat.size(0) is the number of data points")
        os.makedirs(save_path, exist_ok=True)
        write_embedding(save_path, mat, metadata, label_img, metadata_header)
        info = {"tensor_name": f"{tag}:{str(global_step).zfill(5)}",
                "tensor_path": subdir + "/tensors.tsv"}
        if metadata is not None:
            info["metadata_path"] = subdir + "/metadata.tsv"
        if label_img is not None:
            info["sprite_path"] = subdir + "/sprite.png"
            info["single_image_dim"] = [label_img.shape[3], label_img.shape[2]]
        # the config lists every embedding of this writer; rewritten whole (torch's way)
        self._embeddings = getattr(self, "_embeddings", []) + [info]
        with open(os.path.join(logdir, "projector_config.pbtxt"), "wb") as f:
            f.write(projector_config_pbtxt(self._embeddings).encode("utf-8"))

    def flush(self) -> None:
        """Write every pending event to disk."""
        for writer in (self.all_writers or {}).values():
            writer.flush()

    def close(self) -> None:
        """Flush and close the event files (a later ``add_*`` opens a new one, as torch)."""
        for writer in (self.all_writers or {}).values():
            writer.close()
        self.file_writer = self.all_writers = None

    def __enter__(self) -> "SummaryWriter":
        return self

    def __exit__(self, exc_type, exc_val, exc_tb) -> None:
        self.close()
