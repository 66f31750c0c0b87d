"""SummaryWriter's graph, embedding, PR curve, video, audio, mesh and custom-scalar summaries:
events read back with the tensorboard package's EventAccumulator and compared with what
torch.utils.tensorboard's own SummaryWriter writes for the same calls."""
from __future__ import annotations

import io
import os
import wave

import numpy as np
import pytest
import torch
from PIL import Image

import ember
import ember.nn as nn
import ember.nn.functional as F
from ember.utils.tensorboard import SummaryWriter

event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
torch_tb = pytest.importorskip("torch.utils.tensorboard")


def read(log_dir):
    acc = event_accumulator.EventAccumulator(str(log_dir), size_guidance={
        event_accumulator.TENSORS: 0, event_accumulator.AUDIO: 0, event_accumulator.IMAGES: 0})
    acc.Reload()
    return acc


def both(tmp_path, calls):
    """Run ``calls(writer, make_tensor)`` with ember's writer and with torch's; the two
    accumulators."""
    with SummaryWriter(tmp_path / "ember") as writer:
        calls(writer, lambda a: ember.from_numpy(np.ascontiguousarray(a)))
    with torch_tb.SummaryWriter(str(tmp_path / "torch")) as writer:
        calls(writer, lambda a: torch.from_numpy(np.ascontiguousarray(a)))
    return read(tmp_path / "ember"), read(tmp_path / "torch")


# -- graph -----------------------------------------------------------------------------------


class SmallCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(4 * 3 * 3, 2)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        return self.fc(ember.flatten(x, 1))


class Residual(nn.Module):
    """Two inputs, a residual add, a nested Sequential, a module run twice and an op of the
    parent's own before a child's call."""

    def __init__(self):
        super().__init__()
        self.a = nn.Linear(3, 3)
        self.b = nn.Sequential(nn.Linear(3, 3), nn.Tanh())
        self.act = nn.ReLU()
        self.drop = nn.Dropout(0.5)

    def forward(self, x, y):
        h = self.act(self.a(x * 2))
        return self.drop(self.act(self.b(h))) + y


def graph_of(log_dir):
    acc = read(log_dir)
    graph = acc.Graph()
    return {n.name: n for n in graph.node}, acc


def shapes(node):
    return [[d.size for d in s.dim] for s in node.attr["_output_shapes"].list.shape]


def test_add_graph_small_cnn(tmp_path):
    model = SmallCNN()
    with SummaryWriter(tmp_path) as writer:
        writer.add_graph(model, ember.randn(2, 1, 8, 8))
    nodes, acc = graph_of(tmp_path)
    expected = {  # name: (op, inputs, output shapes)
        "input/x": ("IO Node", [], [[2, 1, 8, 8]]),
        "SmallCNN/Conv2d[conv1]/weight": ("Parameter", [], [[4, 1, 3, 3]]),
        "SmallCNN/Conv2d[conv1]/bias": ("Parameter", [], [[4]]),
        "SmallCNN/Linear[fc]/weight": ("Parameter", [], [[2, 36]]),
        "SmallCNN/Linear[fc]/bias": ("Parameter", [], [[2]]),
        "SmallCNN/Conv2d[conv1]/Convolution_0": (
            "Convolution",
            ["input/x", "SmallCNN/Conv2d[conv1]/weight", "SmallCNN/Conv2d[conv1]/bias"],
            [[2, 4, 6, 6]]),
        "SmallCNN/Relu_0": ("Relu", ["SmallCNN/Conv2d[conv1]/Convolution_0"], [[2, 4, 6, 6]]),
        "SmallCNN/MaxPool2d[pool]/MaxPool2DWithIndices_0": (
            "MaxPool2DWithIndices", ["SmallCNN/Relu_0"], [[2, 4, 3, 3], [2, 4, 3, 3]]),
        "SmallCNN/View_0": ("View", ["SmallCNN/MaxPool2d[pool]/MaxPool2DWithIndices_0"], [[2, 36]]),
        "SmallCNN/Linear[fc]/Addmm_0": (
            "Addmm", ["SmallCNN/View_0", "SmallCNN/Linear[fc]/weight", "SmallCNN/Linear[fc]/bias"],
            [[2, 2]]),
        "output/output.1": ("IO Node", ["SmallCNN/Linear[fc]/Addmm_0"], [[2, 2]]),
    }
    assert sorted(nodes) == sorted(expected)
    for name, (op, inputs, output_shapes) in expected.items():
        assert (nodes[name].op, list(nodes[name].input), shapes(nodes[name])) == \
            (op, inputs, output_shapes), name
    # the step stats event torch writes with it
    from tensorboard.compat.proto.config_pb2 import RunMetadata
    from tensorboard.compat.proto.step_stats_pb2 import DeviceStepStats, StepStats
    assert acc.RunMetadata("step1") == RunMetadata(
        step_stats=StepStats(dev_stats=[DeviceStepStats(device="/device:CPU:0")]))


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch.jit.trace, inside torch's add_graph
def test_add_graph_io_and_parameters_match_torch(tmp_path):
    """The IO nodes and the parameters' shapes are torch's for the same architecture."""
    import torch.nn as tnn

    class SmallCNN(tnn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = tnn.Conv2d(1, 4, 3)
            self.pool = tnn.MaxPool2d(2)
            self.fc = tnn.Linear(4 * 3 * 3, 2)

        def forward(self, x):
            return self.fc(torch.flatten(self.pool(torch.relu(self.conv1(x))), 1))

    with torch_tb.SummaryWriter(str(tmp_path / "torch")) as writer:
        writer.add_graph(SmallCNN(), torch.randn(2, 1, 8, 8))
    with SummaryWriter(tmp_path / "ember") as writer:
        writer.add_graph(globals()["SmallCNN"](), ember.randn(2, 1, 8, 8))
    theirs, their_acc = graph_of(tmp_path / "torch")
    ours, our_acc = graph_of(tmp_path / "ember")
    assert shapes(ours["output/output.1"]) == shapes(theirs["output/output.1"])
    assert ours["output/output.1"].op == theirs["output/output.1"].op == "IO Node"
    (their_input,) = [n for n in theirs.values() if n.name.startswith("input/")]
    assert shapes(ours["input/x"]) == shapes(their_input) and their_input.op == "IO Node"
    # torch's GetAttr nodes are scoped under the same module names
    for module in ("SmallCNN/Conv2d[conv1]", "SmallCNN/Linear[fc]"):
        assert any(n.startswith(module + "/") for n in theirs)
        assert {module + "/weight", module + "/bias"} <= set(ours)
    assert our_acc.RunMetadata("step1") == their_acc.RunMetadata("step1")


def test_add_graph_residual_multi_input(tmp_path):
    model = Residual()
    model.train()
    x, y = ember.randn(2, 3), ember.randn(2, 3)
    with SummaryWriter(tmp_path) as writer, ember.no_grad():  # the graph is recorded anyway
        writer.add_graph(model, (x, y))
    nodes, _ = graph_of(tmp_path)
    ops = {name: (n.op, list(n.input)) for name, n in nodes.items()}
    assert ops["input/x"] == ("IO Node", []) and ops["input/y"] == ("IO Node", [])
    assert ops["Residual/Mul_0"] == ("Mul", ["input/x"])  # the parent's own op, before self.a
    assert ops["Residual/Linear[a]/Addmm_0"] == (
        "Addmm", ["Residual/Mul_0", "Residual/Linear[a]/weight", "Residual/Linear[a]/bias"])
    assert ops["Residual/ReLU[act]/Relu_0"] == ("Relu", ["Residual/Linear[a]/Addmm_0"])
    assert ops["Residual/Sequential[b]/Linear[0]/Addmm_1"][1][0] == "Residual/ReLU[act]/Relu_0"
    assert ops["Residual/Sequential[b]/Tanh[1]/Tanh_0"] == (
        "Tanh", ["Residual/Sequential[b]/Linear[0]/Addmm_1"])
    # the shared ReLU's second call is scoped to it too; dropout ran in eval mode (no op)
    assert ops["Residual/ReLU[act]/Relu_1"] == ("Relu", ["Residual/Sequential[b]/Tanh[1]/Tanh_0"])
    assert ops["Residual/Add_0"] == ("Add", ["Residual/ReLU[act]/Relu_1", "input/y"])
    assert ops["output/output.1"] == ("IO Node", ["Residual/Add_0"])
    assert shapes(nodes["Residual/Sequential[b]/Linear[0]/weight"]) == [[3, 3]]
    assert not any("Dropout" in name for name in nodes)
    # the model and the inputs are left as they were
    assert model.training and not x.requires_grad and not y.requires_grad
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())


def test_add_graph_failing_forward_leaves_the_model_as_it_was(tmp_path):
    class Broken(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 2)

        def forward(self, x):
            return self.fc(x) @ ember.ones(5)  # shapes do not match

    model = Broken()
    with SummaryWriter(tmp_path) as writer:
        with pytest.raises(RuntimeError):
            writer.add_graph(model, ember.randn(4, 3))
    assert model.training
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())


def test_add_graph_verbose_prints_the_graph(tmp_path, capsys):
    with SummaryWriter(tmp_path) as writer:
        writer.add_graph(SmallCNN(), ember.randn(1, 1, 8, 8), verbose=True)
    out = capsys.readouterr().out
    assert out.startswith("graph(SmallCNN):")
    assert ("SmallCNN/Conv2d[conv1]/Convolution_0 = Convolution(input/x, "
            "SmallCNN/Conv2d[conv1]/weight, SmallCNN/Conv2d[conv1]/bias) : [1, 4, 6, 6]") in out
    with SummaryWriter(tmp_path) as writer:
        writer.add_graph(SmallCNN(), ember.randn(1, 1, 8, 8))
    assert capsys.readouterr().out == ""


def test_add_graph_tuple_output_and_integer_input(tmp_path):
    class TwoHeads(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(5, 3)
            self.head = nn.Linear(3, 2)

        def forward(self, idx, scale):
            h = self.emb(idx) * scale
            return self.head(h), h

    with SummaryWriter(tmp_path) as writer:  # a list holds the arguments too, as in torch
        writer.add_graph(TwoHeads(), [ember.tensor([[0, 4]]), ember.tensor(2.0)])
    nodes, _ = graph_of(tmp_path)
    assert shapes(nodes["input/idx"]) == [[1, 2]] and shapes(nodes["input/scale"]) == [[]]
    (emb,) = [n for n in nodes if n.startswith("TwoHeads/Embedding[emb]/")
              and nodes[n].op not in ("Parameter",)]
    # the integer indices need no gradient, and are drawn all the same (the trace sees them)
    assert list(nodes[emb].input) == ["TwoHeads/Embedding[emb]/weight", "input/idx"]
    (mul,) = [n for n in nodes if nodes[n].op == "Mul"]
    assert list(nodes[mul].input) == [emb, "input/scale"]
    assert shapes(nodes["output/output.1"]) == [[1, 2, 2]]
    assert list(nodes["output/output.2"].input) == [mul]


def test_add_graph_ops_without_gradients_and_buffers(tmp_path):
    """Comparisons, argmax, integer indexing and batch norm's buffers appear (an autograd graph
    has none of them); an op no output uses is left out."""
    class Picker(nn.Module):
        def __init__(self):
            super().__init__()
            self.norm = nn.BatchNorm1d(4)

        def forward(self, x):
            h = self.norm(x)
            (h * 3).sum()  # unused
            best = h.argmax(1)
            return h[ember.arange(h.shape[0]), best] * (h.amax(1) > 0) * ~h.isnan().any(1)

    with SummaryWriter(tmp_path) as writer:
        writer.add_graph(Picker(), ember.randn(3, 4))
    nodes, _ = graph_of(tmp_path)
    ops = {n.op: n for n in nodes.values()}
    assert list(ops["argmax"].input) == [ops["NativeBatchNorm"].name]
    assert ops["greater"].input[0] == ops["Amax"].name
    assert list(ops["invert"].input) == [ops["any"].name]
    assert list(ops["any"].input) == [ops["isnan"].name]
    assert list(ops["NativeBatchNorm"].input) == ["input/x"] + [
        f"Picker/BatchNorm1d[norm]/{p}" for p in ("weight", "bias", "running_mean", "running_var")]
    assert list(ops["Index"].input) == [ops["NativeBatchNorm"].name, ops["argmax"].name]
    assert "Sum" not in ops and all(name.startswith(("input/", "output/", "Picker"))
                                    for name in nodes)


def test_add_graph_container_inputs(tmp_path):
    class Pair(nn.Module):
        def forward(self, xs, scale=None):
            return xs[0] - xs[1] if scale is None else (xs["a"] * scale)

    with SummaryWriter(tmp_path / "list") as writer:
        writer.add_graph(Pair(), ([ember.randn(2), ember.randn(2)],))  # one argument, a list
    nodes, _ = graph_of(tmp_path / "list")
    (sub,) = [n for n in nodes.values() if n.op == "Sub"]
    assert list(sub.input) == ["input/xs.0", "input/xs.1"]
    with SummaryWriter(tmp_path / "dict") as writer:
        writer.add_graph(Pair(), ({"a": ember.randn(3)}, ember.tensor(2.0)))
    nodes, _ = graph_of(tmp_path / "dict")
    (mul,) = [n for n in nodes.values() if n.op == "Mul"]
    assert list(mul.input) == ["input/xs.a", "input/scale"]


def test_add_onnx_graph_matches_torch(tmp_path):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    node = helper.make_node("Relu", ["x"], ["y"], name="relu")
    model = helper.make_model(helper.make_graph(
        [node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])]))
    path = str(tmp_path / "model.onnx")
    onnx.save(model, path)

    def calls(writer, t):
        writer.add_onnx_graph(path)

    ours, theirs = both(tmp_path, calls)
    assert ours.Graph() == theirs.Graph()
    assert [n.op for n in ours.Graph().node] == ["Variable", "Variable", "Relu"]


# -- embedding -------------------------------------------------------------------------------


def test_add_embedding_files_match_torch(tmp_path):
    rng = np.random.default_rng(0)
    mat = rng.standard_normal((10, 5)).astype(np.float32)
    imgs = rng.random((10, 3, 6, 6)).astype(np.float32)
    meta = [f"word{i}" for i in range(10)]
    table = [[i, f"w{i}"] for i in range(10)]

    def calls(writer, t):
        writer.add_embedding(t(mat), metadata=meta, label_img=t(imgs))
        writer.add_embedding(t(mat), global_step=3, tag="a/b")
        writer.add_embedding(t(mat[:, :2]), metadata=table, metadata_header=["id", "word"],
                             label_img=t(imgs[:, :1]), global_step=12, tag="gray")

    both(tmp_path, calls)
    ours, theirs = tmp_path / "ember", tmp_path / "torch"
    files = sorted(os.path.relpath(os.path.join(d, f), theirs)
                   for d, _, fs in os.walk(theirs) for f in fs if "tfevents" not in f)
    assert files == sorted(os.path.relpath(os.path.join(d, f), ours)
                           for d, _, fs in os.walk(ours) for f in fs if "tfevents" not in f)
    assert "00003/a%2fb/tensors.tsv" in files and "00000/default/sprite.png" in files
    for name in files:
        a, b = (ours / name).read_bytes(), (theirs / name).read_bytes()
        if name.endswith(".png"):  # compare the pixels, not the encoder's bytes
            a, b = (np.array(Image.open(io.BytesIO(x))) for x in (a, b))
            assert a.shape == b.shape and (a == b).all(), name
        else:
            assert a == b, name


def test_add_embedding_errors(tmp_path, capsys):
    writer = SummaryWriter(tmp_path)
    with pytest.raises(AssertionError, match="#labels should equal with #data points"):
        writer.add_embedding(ember.randn(3, 2), metadata=["a", "b"])
    with pytest.raises(AssertionError, match="#images should equal with #data points"):
        writer.add_embedding(ember.randn(3, 2), label_img=ember.rand(2, 3, 4, 4))
    with pytest.raises(AssertionError, match="mat should be 2D"):
        writer.add_embedding(ember.randn(3))
    writer.add_embedding(ember.randn(3, 2), global_step=1)
    writer.add_embedding(ember.randn(3, 2), global_step=1)
    assert "Embedding dir exists" in capsys.readouterr().out
    (tmp_path / "00002").mkdir()
    (tmp_path / "00002" / "default").write_text("")
    with pytest.raises(NotADirectoryError, match="exists, but is a file"):
        writer.add_embedding(ember.randn(3, 2), global_step=2)
    writer.close()


# -- pr curves, audio, mesh, custom scalars ----------------------------------------------------


def same_tensor_events(ours, theirs, tag):
    a, b = ours.Tensors(tag), theirs.Tensors(tag)
    assert [e.step for e in a] == [e.step for e in b]
    for x, y in zip(a, b):
        assert x.tensor_proto == y.tensor_proto
    assert ours.SummaryMetadata(tag) == theirs.SummaryMetadata(tag)


def test_add_pr_curve_matches_torch(tmp_path):
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 2, 100)
    predictions = rng.random(100).astype(np.float32)
    weights = rng.random(100)

    def calls(writer, t):
        writer.add_pr_curve("pr", t(labels), t(predictions), 0)
        # (torch takes weights only as an array; ember takes tensors too, checked below)
        writer.add_pr_curve("pr", labels, predictions, 1, num_thresholds=10, weights=weights)
        writer.add_pr_curve("few", t(labels), t(predictions), 0, num_thresholds=500)  # capped at 127
        n = 5
        tp = t(np.array([10, 8, 5, 2, 0], dtype=np.float64))
        fp = t(np.array([10, 6, 3, 1, 0], dtype=np.float64))
        writer.add_pr_curve_raw("raw", tp, fp, t(np.zeros(n)), t(np.arange(n, dtype=np.float64)),
                                t(np.linspace(0.5, 1, n)), t(np.linspace(1, 0, n)), 2, num_thresholds=n)

    ours, theirs = both(tmp_path, calls)
    for tag in ("pr", "few", "raw"):
        same_tensor_events(ours, theirs, tag)
    curve = ours.Tensors("pr")[0].tensor_proto
    assert [d.size for d in curve.tensor_shape.dim] == [6, 127]
    with SummaryWriter(tmp_path / "weights") as writer:
        writer.add_pr_curve("pr", labels, predictions, 1, num_thresholds=10,
                            weights=ember.from_numpy(weights))
    assert read(tmp_path / "weights").Tensors("pr")[0].tensor_proto == ours.Tensors("pr")[1].tensor_proto


def test_add_audio_matches_torch(tmp_path, capsys):
    rng = np.random.default_rng(2)
    sound = rng.uniform(-1, 1, (1, 800)).astype(np.float32)

    def calls(writer, t):
        writer.add_audio("sound", t(sound), 0, sample_rate=8000)
        writer.add_audio("loud", t(sound * 3), 1)

    ours, theirs = both(tmp_path, calls)
    assert capsys.readouterr().out.count("audio amplitude out of range") == 2  # both writers
    for tag in ("sound", "loud"):
        a, b = ours.Audio(tag), theirs.Audio(tag)
        assert [(e.step, e.sample_rate, e.length_frames, e.content_type, e.encoded_audio_string)
                for e in a] == [(e.step, e.sample_rate, e.length_frames, e.content_type,
                                 e.encoded_audio_string) for e in b]
    with wave.open(io.BytesIO(ours.Audio("sound")[0].encoded_audio_string)) as w:
        assert (w.getnchannels(), w.getframerate(), w.getnframes()) == (1, 8000, 800)
    with pytest.raises(AssertionError, match="input tensor should be 1 dimensional"):
        SummaryWriter(tmp_path / "bad").add_audio("stereo", ember.zeros(2, 10))


def test_add_mesh_matches_torch(tmp_path):
    vertices = np.array([[[1, 1, 1], [-1, -1, 1], [1, -1, -1], [-1, 1, -1]]], dtype=np.float32)
    colors = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 0, 255]]], dtype=np.int32)
    faces = np.array([[[0, 2, 3], [0, 3, 1], [0, 1, 2], [1, 3, 2]]], dtype=np.int32)
    config = {"camera": {"cls": "PerspectiveCamera", "fov": 75}}

    def calls(writer, t):
        writer.add_mesh("mesh", vertices=t(vertices), colors=t(colors), faces=t(faces),
                        config_dict=config, global_step=0)
        writer.add_mesh("cloud", vertices=t(vertices * 2), global_step=1)

    ours, theirs = both(tmp_path, calls)
    assert sorted(ours.Tags()["tensors"]) == sorted(theirs.Tags()["tensors"]) == [
        "cloud_VERTEX", "mesh_COLOR", "mesh_FACE", "mesh_VERTEX"]
    for tag in ours.Tags()["tensors"]:
        same_tensor_events(ours, theirs, tag)
    # the mesh plugin reads the metadata back (components: vertices, faces and colours)
    from tensorboard.plugins.mesh import metadata
    parsed = metadata.parse_plugin_metadata(ours.SummaryMetadata("mesh_FACE").plugin_data.content)
    assert parsed.components == (1 << 1) | (1 << 2) | (1 << 3) and list(parsed.shape) == [1, 4, 3]
    with pytest.raises(ValueError, match="BxNx3"):
        SummaryWriter(tmp_path / "bad").add_mesh("flat", ember.zeros(4, 3))


def test_add_custom_scalars_matches_torch(tmp_path):
    layout = {"Taiwan": {"twse": ["Multiline", ["twse/0050", "twse/2330"]]},
              "USA": {"dow": ["Margin", ["dow/aaa", "dow/bbb", "dow/ccc"]]}}

    def calls(writer, t):
        writer.add_custom_scalars(layout)

    ours, theirs = both(tmp_path, calls)
    same_tensor_events(ours, theirs, "custom_scalars__config__")
    for method in ("add_custom_scalars_multilinechart", "add_custom_scalars_marginchart"):
        def calls(writer, t, method=method):
            getattr(writer, method)(["a", "b", "c"], category="cat", title="t")

        ours, theirs = both(tmp_path / method, calls)
        same_tensor_events(ours, theirs, "custom_scalars__config__")
    writer = SummaryWriter(tmp_path / "bad")
    with pytest.raises(AssertionError, match="Expected 3 tags, got 2"):
        writer.add_custom_scalars_marginchart(["a", "b"])
    with pytest.raises(AssertionError, match=r"len\(tags\) != 3"):
        writer.add_custom_scalars({"c": {"m": ["Margin", ["a"]]}})
    writer.close()


def test_add_tensor_and_histogram_raw_match_torch(tmp_path):
    rng = np.random.default_rng(5)
    arrays = {"f32": rng.standard_normal((2, 3)).astype(np.float32),
              "f64": rng.standard_normal(4), "f16": rng.standard_normal(3).astype(np.float16),
              "i64": np.arange(6).reshape(3, 2), "i32": np.arange(3, dtype=np.int32),
              "i16": np.array([-2, 7], dtype=np.int16), "i8": np.array([-1, 1], dtype=np.int8),
              "u8": np.array([0, 200, 255], dtype=np.uint8), "bool": np.array([True, False]),
              "c64": (rng.standard_normal(2) + 1j * rng.standard_normal(2)).astype(np.complex64),
              "c128": rng.standard_normal(2) + 1j * rng.standard_normal(2),
              "scalar": np.array(2.5, dtype=np.float32)}
    values = np.repeat(np.arange(5.0), np.arange(1, 6)) + 0.5
    counts, limits = np.histogram(values, bins=np.arange(7.0))

    def calls(writer, t):
        for tag, array in arrays.items():
            # ember has no complex dtype: its writer takes complex NumPy arrays
            ember_complex = array.dtype.kind == "c" and isinstance(writer, SummaryWriter)
            writer.add_tensor(tag, array if ember_complex else t(array), 3)
        writer.add_histogram_raw("raw", values.min(), values.max(), len(values), values.sum(),
                                 values.dot(values), limits[1:].tolist(), counts.tolist(), 1)
        writer.add_histogram_raw("raw", 0.0, 1.0, 2, 1.0, 1.0, t(np.array([0.5, 1.0])),
                                 t(np.array([1.0, 1.0])), 2)

    ours, theirs = both(tmp_path, calls)
    for tag in arrays:
        same_tensor_events(ours, theirs, tag)
    assert [(e.step, e.histogram_value) for e in ours.Histograms("raw")] == \
        [(e.step, e.histogram_value) for e in theirs.Histograms("raw")]
    writer = SummaryWriter(tmp_path / "bad")
    with pytest.raises(ValueError, match=r"len\(bucket_limits\) != len\(bucket_counts\)"):
        writer.add_histogram_raw("h", 0, 1, 1, 1, 1, [1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="unsupported tensor dtype"):
        writer.add_tensor("u16", np.zeros(2, dtype=np.uint16))
    writer.close()


def test_add_image_with_boxes_matches_torch(tmp_path):
    rng = np.random.default_rng(6)
    image = rng.uniform(-0.2, 1.2, (3, 40, 50)).astype(np.float32)  # clipped, as torch
    boxes = np.array([[2, 3, 20, 30], [10, 5, 45, 35]], dtype=np.float32)

    def calls(writer, t):
        writer.add_image_with_boxes("boxes", t(image), t(boxes), 0, labels=["cat", "dog"])
        writer.add_image_with_boxes("boxes", t(image.transpose(1, 2, 0)), t(boxes), 1,
                                    dataformats="HWC", labels="one label, two boxes: none")
        writer.add_image_with_boxes("scaled", t((image.clip(0, 1) * 255).astype(np.uint8)),
                                    t(boxes[:1]), 0, rescale=2, labels="x")

    ours, theirs = both(tmp_path, calls)
    for tag in ("boxes", "scaled"):
        a, b = ours.Images(tag), theirs.Images(tag)
        assert [(e.step, e.height, e.width) for e in a] == [(e.step, e.height, e.width) for e in b]
        for x, y in zip(a, b):
            np.testing.assert_array_equal(*(np.array(Image.open(io.BytesIO(e.encoded_image_string)))
                                            for e in (x, y)))


# -- video -------------------------------------------------------------------------------------


def _has_moviepy() -> bool:
    try:
        import moviepy  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.mark.skipif(_has_moviepy(), reason="moviepy is installed")
def test_add_video_without_moviepy_raises(tmp_path):
    with SummaryWriter(tmp_path) as writer:
        with pytest.raises(ImportError, match="add_video needs package moviepy"):
            writer.add_video("clip", ember.rand(1, 2, 3, 4, 4))


def test_add_video_frames_match_torch(tmp_path, monkeypatch):
    """What goes to the gif encoder: the batch tiled (padded to a power of two), floats scaled
    by 255 and clipped, uint8 kept; compared with torch's frames (the encoder stubbed out)."""
    import tensorboardX.summary
    import torch.utils.tensorboard.summary as torch_summary
    from tensorboardX.proto.summary_pb2 import Summary

    from ember.utils.tensorboard import _summary

    frames = {"ember": [], "torch": []}

    def encoder(name, summary_class):
        def make_video(tensor, fps):
            frames[name].append((tensor.copy(), fps))
            return summary_class.Image(height=tensor.shape[1], width=tensor.shape[2])
        return make_video

    monkeypatch.setattr(_summary, "_require_moviepy", lambda: None)
    monkeypatch.setattr(tensorboardX.summary, "make_video", encoder("ember", Summary))
    monkeypatch.setattr(torch_summary, "make_video", encoder("torch", torch_summary.Summary))
    rng = np.random.default_rng(4)
    videos = [rng.uniform(-0.5, 1.5, (3, 2, 3, 4, 5)).astype(np.float32),  # out of [0, 1]
              rng.integers(0, 256, (1, 3, 1, 4, 4)).astype(np.uint8),
              rng.random((5, 2, 3, 2, 2))]

    def calls(writer, t):
        for i, video in enumerate(videos):
            writer.add_video(f"v{i}", t(video), i, fps=i + 2)

    both(tmp_path, calls)
    assert len(frames["ember"]) == len(frames["torch"]) == 3
    for (ours, our_fps), (theirs, their_fps) in zip(frames["ember"], frames["torch"]):
        assert ours.dtype == theirs.dtype == np.uint8 and our_fps == their_fps
        np.testing.assert_array_equal(ours, theirs)
    assert frames["ember"][0][0].shape == (2, 4, 20, 3)  # 3 videos padded to 4, in one row
    with pytest.raises(ValueError, match=r"\(N, T, C, H, W\)"):
        SummaryWriter(tmp_path / "bad").add_video("v", ember.rand(2, 3, 4, 4))


@pytest.mark.skipif(not _has_moviepy(), reason="moviepy is not installed")
def test_add_video_writes_a_gif(tmp_path):  # pragma: no cover - needs moviepy
    video = np.random.default_rng(3).random((3, 4, 3, 8, 8)).astype(np.float32)
    with SummaryWriter(tmp_path) as writer:
        writer.add_video("clip", ember.from_numpy(video), 0, fps=2)
        writer.add_video("bytes", (video * 255).astype(np.uint8), 1)
    acc = read(tmp_path)
    (event,) = acc.Images("clip")
    assert (event.height, event.width) == (8, 32)  # 3 videos padded to 4, in one row
    frames = Image.open(io.BytesIO(event.encoded_image_string))
    assert frames.format == "GIF" and frames.n_frames == 4
    assert acc.Images("bytes")[0].step == 1


def test_every_torch_writer_method_with_torch_signature():
    import inspect

    for name, method in inspect.getmembers(torch_tb.SummaryWriter, inspect.isfunction):
        if name.startswith("_") and name != "__init__":
            continue
        assert hasattr(SummaryWriter, name), name
        theirs = [(p.name, p.default) for p in inspect.signature(method).parameters.values()]
        ours = [(p.name, p.default)
                for p in inspect.signature(getattr(SummaryWriter, name)).parameters.values()]
        assert ours == theirs, name


def test_tutorial_example(tmp_path, monkeypatch, capsys):
    """examples/tensorboard_tutorial.py (torch's TensorBoard tutorial) on a small generated
    CIFAR-10: every kind of event it writes reads back."""
    pytest.importorskip("matplotlib")
    import runpy
    import sys

    from ember.vision.datasets.synthetic import make_cifar10

    examples = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__)))), "examples")
    make_cifar10(str(tmp_path / "data"), train_per_batch=4, test_size=12)
    log_dir = tmp_path / "logs"
    monkeypatch.syspath_prepend(examples)
    monkeypatch.setattr(sys, "argv", ["tensorboard_tutorial.py", "--root", str(tmp_path / "data"),
                                      "--logdir", str(log_dir), "--max-batches", "4"])
    runpy.run_path(os.path.join(examples, "tensorboard_tutorial.py"), run_name="__main__")
    acc = read(log_dir)
    assert [e.step for e in acc.Scalars("training loss")] == [1, 3]
    assert [e.step for e in acc.Images("predictions vs. actuals")] == [1, 3]
    assert acc.Images("four_cifar_images")[0].width > 4 * 32
    nodes = {n.name: n for n in acc.Graph().node}
    assert list(nodes["Net/Conv2d[conv1]/Convolution_0"].input) == [
        "input/x", "Net/Conv2d[conv1]/weight", "Net/Conv2d[conv1]/bias"]
    assert shapes(nodes["output/output.1"]) == [[4, 10]]
    pr = acc.Tensors("plane")[0].tensor_proto
    assert [d.size for d in pr.tensor_shape.dim] == [6, 127]
    assert len(acc.Tags()["tensors"]) == 10
    assert (log_dir / "00000" / "default" / "sprite.png").exists()
    assert len((log_dir / "00000" / "default" / "metadata.tsv").read_text().splitlines()) == 20
