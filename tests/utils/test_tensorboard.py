"""SummaryWriter: event files written through tensorboardX, read back with the tensorboard
package's own EventAccumulator."""
from __future__ import annotations

import io
import os
import re
import socket

import numpy as np
import pytest
from PIL import Image

import ember
from ember.utils.tensorboard import SummaryWriter

event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")


def read(log_dir):
    acc = event_accumulator.EventAccumulator(str(log_dir), size_guidance={
        event_accumulator.IMAGES: 0, event_accumulator.SCALARS: 0,
        event_accumulator.HISTOGRAMS: 0, event_accumulator.TENSORS: 0})
    acc.Reload()
    return acc


def decode(image_event) -> np.ndarray:
    return np.array(Image.open(io.BytesIO(image_event.encoded_image_string)))


def test_scalars_round_trip(tmp_path):
    with SummaryWriter(tmp_path) as writer:
        writer.add_scalar("loss", ember.tensor(2.5), 0)
        writer.add_scalar("loss", np.float32(1.25), 1)
        writer.add_scalar("loss", 0.5, 2)
        writer.add_scalar("acc", ember.tensor([0.75]), 2)  # one element: accepted, as torch
        writer.add_scalar("exact", 1 / 3, 0, new_style=True, double_precision=True)
    acc = read(tmp_path)
    assert sorted(acc.Tags()["scalars"]) == ["acc", "loss"]
    assert [(e.step, e.value) for e in acc.Scalars("loss")] == [(0, 2.5), (1, 1.25), (2, 0.5)]
    assert acc.Scalars("acc")[0].value == 0.75
    from tensorboard.util import tensor_util
    (event,) = acc.Tensors("exact")
    assert tensor_util.make_ndarray(event.tensor_proto) == 1 / 3
    with pytest.raises(ValueError, match="Tensor should contain one element"):
        SummaryWriter(tmp_path).add_scalar("bad", ember.ones(3), 0)


def test_add_scalars_uses_torch_layout(tmp_path):
    with SummaryWriter(tmp_path) as writer:
        for step in range(3):
            writer.add_scalars("run/main", {"train": step * 1.0, "test": ember.tensor(step * 2.0)}, step)
    for tag, values in (("train", [0, 1, 2]), ("test", [0, 2, 4])):
        sub = tmp_path / f"run_main_{tag}"
        assert sub.is_dir()
        acc = read(sub)
        assert acc.Tags()["scalars"] == ["run/main"]
        assert [e.value for e in acc.Scalars("run/main")] == values


def test_images_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    batch = rng.random((64, 3, 32, 32)).astype(np.float32)
    with SummaryWriter(tmp_path) as writer:
        writer.add_images("input", ember.from_numpy(batch), 0)
        writer.add_images("input", ember.from_numpy(batch[:6]), 1)
        writer.add_images("nhwc", batch[:2].transpose(0, 2, 3, 1), 0, dataformats="NHWC")
        writer.add_images("gray", ember.from_numpy(batch[:3, :1]), 0)
        writer.add_images("Epoch: 0", ember.from_numpy(batch[:2]), 0)  # tags are kept as given (torch)
        writer.add_image("chw", ember.from_numpy(batch[0]), 0)
        writer.add_image("hwc", (batch[0].transpose(1, 2, 0) * 255).astype(np.uint8), 0, dataformats="HWC")
        writer.add_image("hw", batch[0, 0], 0, dataformats="HW")
        writer.add_image("rgba", ember.from_numpy(rng.random((4, 5, 6)).astype(np.float32)), 0)
        writer.add_image("outside", ember.tensor([[[-1.0, 0.5], [2.0, 1.0]]]), 0)  # clipped
    acc = read(tmp_path)
    assert sorted(acc.Tags()["images"]) == ["Epoch: 0", "chw", "gray", "hw", "hwc", "input", "nhwc", "outside", "rgba"]
    events = acc.Images("input")
    assert len(events) == 2 and [e.step for e in events] == [0, 1]
    assert (events[0].height, events[0].width) == (256, 256)  # 8 x 8 grid of 32 x 32
    assert (events[1].height, events[1].width) == (32, 192)
    np.testing.assert_array_equal(decode(acc.Images("chw")[0]), (batch[0].transpose(1, 2, 0) * 255).astype(np.uint8))
    np.testing.assert_array_equal(decode(acc.Images("hwc")[0]), (batch[0].transpose(1, 2, 0) * 255).astype(np.uint8))
    assert decode(acc.Images("rgba")[0]).shape == (5, 6, 4)
    assert decode(acc.Images("outside")[0])[..., 0].tolist() == [[0, 127], [255, 255]]
    assert (acc.Images("nhwc")[0].height, acc.Images("nhwc")[0].width) == (32, 64)


@pytest.mark.parametrize("call, match", [
    (lambda w: w.add_images("x", ember.zeros(2, 2, 4, 4), 0), "images must have 1, 3 or 4 channels .* got 2 channels"),
    (lambda w: w.add_image("x", ember.zeros(6, 4, 4), 0), "images must have 1, 3 or 4 channels .* got 6 channels"),
    (lambda w: w.add_images("x", ember.zeros(3, 4, 4), 0), r"needs 4 dimensions, got shape \(3, 4, 4\)"),
    (lambda w: w.add_image("x", np.zeros((4, 4, 5)), 0, dataformats="HWC"), "got 5 channels"),
    (lambda w: w.add_image("x", np.zeros((4, 4)), 0, dataformats="HH"), "dataformats should be a permutation"),
])
def test_image_errors(tmp_path, call, match):
    with SummaryWriter(tmp_path) as writer:
        with pytest.raises(ValueError, match=match):
            call(writer)


def test_histogram_text_figure(tmp_path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with SummaryWriter(tmp_path) as writer:
        writer.add_histogram("weights", ember.randn(1000), 0)
        writer.add_histogram("weights", np.arange(10.0), 1, bins="auto")
        writer.add_text("note", "**hello**", 0)
        fig = plt.figure(figsize=(2, 1))
        plt.plot([0, 1], [1, 0])
        writer.add_figure("plot", fig, 0)
        with pytest.raises(ValueError, match="the input has no element"):
            writer.add_histogram("empty", ember.zeros(0), 0)
    acc = read(tmp_path)
    hist = acc.Histograms("weights")
    assert len(hist) == 2 and hist[0].histogram_value.num == 1000 and hist[1].histogram_value.max == 9
    assert "note/text_summary" in acc.Tags()["tensors"]
    assert acc.Tags()["images"] == ["plot"] and acc.Images("plot")[0].width == 200


def test_default_log_dir_flush_and_reopen(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    writer = SummaryWriter(comment="_lr0.1")
    pattern = r"runs/[A-Z][a-z]{2}\d{2}_\d{2}-\d{2}-\d{2}_" + re.escape(socket.gethostname()) + "_lr0.1"
    assert re.fullmatch(pattern, writer.get_logdir())
    writer.add_scalar("a", 1.0, 0)
    writer.flush()
    assert read(writer.get_logdir()).Scalars("a")[0].value == 1.0
    writer.close()
    writer.close()  # a second close is harmless
    writer.add_scalar("a", 2.0, 1)  # reopens a new event file, as torch
    writer.close()
    assert len([f for f in os.listdir(writer.get_logdir()) if f.startswith("events.out.tfevents")]) == 2
    assert [e.value for e in read(writer.get_logdir()).Scalars("a")] == [1.0, 2.0]


def test_hparams_and_purge_step(tmp_path):
    with SummaryWriter(tmp_path) as writer:
        writer.add_hparams({"lr": 0.1, "bs": 64}, {"hparam/acc": ember.tensor(0.9)}, run_name="trial")
    acc = read(tmp_path / "trial")
    assert acc.Scalars("hparam/acc")[0].value == pytest.approx(0.9)
    with SummaryWriter(tmp_path / "purged") as writer:
        for step in range(5):
            writer.add_scalar("x", float(step), step)
    with SummaryWriter(tmp_path / "purged", purge_step=3) as writer:  # a resumed run
        writer.add_scalar("x", 30.0, 3)
    assert [(e.step, e.value) for e in read(tmp_path / "purged").Scalars("x")] == [(0, 0.0), (1, 1.0), (2, 2.0), (3, 30.0)]
