"""ember.explain.summary: the table's shapes, parameter counts and multiply-adds are the real
ones (checked against the same model built in torch, with torch's forward hooks)."""
from collections import OrderedDict

import pytest
import torch

import ember
from ember.explain.summary import MODELS, explain_module, load_model, summary

pytestmark = pytest.mark.skipif(
    not all(hasattr(ember.nn, m) for m in ("Linear", "Flatten", "ReLU", "Tanh", "ConvTranspose2d")),
    reason="ember.nn's Linear/Flatten/activation modules are not there yet")


def _torch_twin(name):
    """The named model, layer for layer, in torch."""
    nn = torch.nn
    if name == "lenet":
        return nn.Sequential(OrderedDict(
            features=nn.Sequential(nn.Conv2d(1, 6, 5), nn.Tanh(), nn.AvgPool2d(2),
                                   nn.Conv2d(6, 16, 5), nn.Tanh(), nn.AvgPool2d(2)),
            classifier=nn.Sequential(nn.Flatten(), nn.Linear(400, 120), nn.Tanh(),
                                     nn.Linear(120, 84), nn.Tanh(), nn.Linear(84, 10))))
    if name == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
    if name == "small_cnn":
        return nn.Sequential(OrderedDict(
            features=nn.Sequential(nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                                   nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)),
            classifier=nn.Sequential(nn.Flatten(), nn.Linear(4096, 10))))
    return nn.Sequential(nn.ConvTranspose2d(100, 256, 4, 1, 0), nn.ReLU(),
                         nn.ConvTranspose2d(256, 128, 4, 2, 1), nn.ReLU(),
                         nn.ConvTranspose2d(128, 64, 4, 2, 1), nn.ReLU(),
                         nn.ConvTranspose2d(64, 3, 4, 2, 1), nn.Tanh())


def _torch_shapes(model, size):
    shapes = {}
    handles = [m.register_forward_hook(lambda m, i, o, name=name: shapes.__setitem__(name, tuple(o.shape)))
               for name, m in model.named_modules()]
    model(torch.zeros(size))
    for h in handles:
        h.remove()
    return shapes


@pytest.mark.parametrize("name", list(MODELS))
def test_shapes_and_parameters_match_torch(name):
    model, size = load_model(name)
    s = summary(model, size, explain=True)
    twin = _torch_twin(name)
    assert s.total_params == sum(p.numel() for p in twin.parameters())
    expected = _torch_shapes(twin, size)
    assert {info.name: info.output_shape for info in s.layers} == expected
    for info in s.layers:
        assert not any(line.startswith("!!") for line in info.formula), info.formula


def test_mult_adds_are_counted_per_layer():
    model, size = load_model("lenet")
    layers = {info.name: info for info in summary(model, size).layers}
    assert layers["features.0"].mult_adds == 6 * 28 * 28 * (1 * 5 * 5)      # 117,600
    assert layers["features.3"].mult_adds == 16 * 10 * 10 * (6 * 5 * 5)     # 240,000
    assert layers["classifier.1"].mult_adds == 400 * 120
    assert layers["features.1"].mult_adds == 0                              # tanh: none counted
    gen, size = load_model("dcgan_generator")
    layers = {info.name: info for info in summary(gen, size).layers}
    assert layers["2"].mult_adds == 256 * 4 * 4 * 128 * 4 * 4   # each input scatters a 128x4x4 slice


def test_table_text():
    model, size = load_model("lenet")
    text = str(summary(model, size, explain=True))
    assert "Total params: 61,706" in text
    assert "├─Conv2d: 2-1" in text and "[1, 6, 28, 28]" in text
    assert "H_out = floor((32 + 2*0 - 1*(5-1) - 1) / 1) + 1 = 28" in text
    assert "H_out = floor((28 + 2*0 - 2) / 2) + 1 = 14" in text


def test_explain_module_and_python_path():
    report = explain_module(ember.nn.MaxPool2d(3, 2, 1, ceil_mode=True), (1, 1, 6, 6))
    assert report.output_shape == (1, 1, 4, 4)
    assert explain_module(ember.nn.ReLU(), (1, 1, 6, 6)) is None
    model, size = load_model("ember.explain.summary:small_cnn")
    assert size is None and type(model).__name__ == "Sequential"
    with pytest.raises(ValueError, match="unknown model"):
        load_model("resnet1000")
