"""ember.vision.models against torchvision 0.28's architectures: the same state_dict keys,
shapes and parameter counts for every builder, the same logits and gradients once torchvision's
weights are copied in, torchvision's initialisation, and the weights/pretrained interface."""
import numpy as np
import pytest
import torch

import ember
import ember.vision as vision
from tests.torchvision_oracle import torchvision

ALL = vision.models.list_models()


def _torch_model(name, **kwargs):
    return torchvision().models.get_model(name, weights=None, **kwargs)


def _copy_weights(tmodel, emodel):
    state = {k: ember.tensor(v.detach().numpy().copy()) for k, v in tmodel.state_dict().items()}
    emodel.load_state_dict(state)


def test_the_zoo_is_torchvisions_classification_subset():
    expected = {"alexnet", "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19",
                "vgg19_bn", "resnet18", "resnet34", "resnet50", "resnet101", "resnet152",
                "squeezenet1_0", "squeezenet1_1", "densenet121", "densenet161", "densenet169",
                "densenet201", "mobilenet_v2", "mobilenet_v3_small", "mobilenet_v3_large",
                "googlenet", "shufflenet_v2_x0_5", "shufflenet_v2_x1_0", "shufflenet_v2_x1_5",
                "shufflenet_v2_x2_0"}
    assert set(ALL) == expected
    assert set(ALL) <= set(torchvision().models.list_models())


@pytest.mark.parametrize("name", [n for n in ALL if not n.startswith("vgg1") or n == "vgg11"])
def test_state_dict_keys_shapes_and_parameter_count_match_torchvision(name):
    kwargs = {"init_weights": False} if name.startswith(("vgg", "googlenet")) else {}
    t, e = _torch_model(name, **kwargs), vision.models.get_model(name, **kwargs)
    tkeys = [(k, tuple(v.shape)) for k, v in t.state_dict().items()]
    ekeys = [(k, tuple(v.shape)) for k, v in e.state_dict().items()]
    assert ekeys == tkeys
    assert sum(p.numel() for p in e.parameters()) == sum(p.numel() for p in t.parameters())


@pytest.mark.parametrize("name", ["vgg13", "vgg16_bn", "vgg19_bn"])
def test_vgg_variants_keys(name):
    """The big VGGs: keys and shapes from the configuration alone (no 100M-parameter init)."""
    t = _torch_model(name, init_weights=False)
    e = vision.models.get_model(name, init_weights=False)
    assert [(k, tuple(v.shape)) for k, v in e.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in t.state_dict().items()]


# one model per family, on small inputs to keep the test fast (AlexNet needs 63x63 or more)
FORWARD = ["alexnet", "resnet18", "resnet50", "squeezenet1_0", "squeezenet1_1", "densenet121",
           "mobilenet_v2", "mobilenet_v3_small", "googlenet", "shufflenet_v2_x0_5"]


@pytest.mark.parametrize("name", FORWARD)
def test_logits_equal_torchvisions_with_its_weights(name):
    kwargs = {"init_weights": True} if name == "googlenet" else {}
    torch.manual_seed(0)
    t = _torch_model(name, **kwargs).eval()
    e = vision.models.get_model(name, **kwargs).eval()
    _copy_weights(t, e)
    size = 64 if name == "alexnet" else 32
    x = np.random.default_rng(0).standard_normal((2, 3, size, size)).astype(np.float32)
    with torch.no_grad():
        want = t(torch.tensor(x)).numpy()
    with ember.no_grad():
        got = e(ember.tensor(x)).numpy()
    assert got.shape == want.shape == (2, 1000)
    scale = np.abs(want).max()
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * scale)


def test_vgg_bn_features_equal_torchvisions():
    """VGG's convolutional part (make_layers with batch norm), without its 100M-parameter head."""
    torch.manual_seed(0)
    t = torchvision().models.vgg.make_layers(torchvision().models.vgg.cfgs["A"], True).eval()
    e = vision.models.vgg.make_layers(vision.models.vgg.cfgs["A"], True).eval()
    _copy_weights(t, e)
    x = np.random.default_rng(3).standard_normal((1, 3, 32, 32)).astype(np.float32)
    with torch.no_grad():
        want = t(torch.tensor(x)).numpy()
    with ember.no_grad():
        got = e(ember.tensor(x)).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * np.abs(want).max())


def test_resnet18_training_step_gradients_equal_torchvisions():
    torch.manual_seed(0)
    t, e = _torch_model("resnet18", num_classes=10), vision.models.resnet18(num_classes=10)
    _copy_weights(t, e)
    x = np.random.default_rng(1).standard_normal((4, 3, 32, 32)).astype(np.float32)
    y = [1, 3, 5, 7]
    torch.nn.functional.cross_entropy(t(torch.tensor(x)), torch.tensor(y)).backward()
    ember.nn.functional.cross_entropy(e(ember.tensor(x)), ember.tensor(y)).backward()
    tparams = dict(t.named_parameters())
    for name, p in e.named_parameters():
        want = tparams[name].grad.numpy()
        np.testing.assert_allclose(p.grad.numpy(), want, rtol=2e-3,
                                   atol=2e-4 * np.abs(want).max() + 1e-7, err_msg=name)
    # batch norm's running statistics moved the same way in training mode
    tbuf = dict(t.named_buffers())
    for name, b in e.named_buffers():
        np.testing.assert_allclose(b.numpy(), tbuf[name].numpy(), rtol=1e-4, atol=1e-5,
                                   err_msg=name)


def test_googlenet_training_mode_returns_the_aux_logits_namedtuple():
    e = vision.models.googlenet(init_weights=False, num_classes=7).train()
    out = e(ember.randn(2, 3, 64, 64))
    assert type(out).__name__ == "GoogLeNetOutputs"
    assert [tuple(o.shape) for o in out] == [(2, 7)] * 3
    assert tuple(e.eval()(ember.randn(1, 3, 64, 64)).shape) == (1, 7)
    with pytest.warns(FutureWarning, match="default weight initialization of GoogleNet"):
        vision.models.googlenet(aux_logits=False)


def _std(t):
    return float(np.asarray(t.detach().numpy(), dtype=np.float64).std())


@pytest.mark.parametrize("name, param, expected_std", [
    # kaiming_normal_(fan_out, relu): sqrt(2 / (out_channels * k * k))
    ("resnet18", "layer1.0.conv1.weight", (2 / (64 * 9)) ** 0.5),
    ("mobilenet_v2", "features.18.0.weight", (2 / 1280) ** 0.5),  # leaky_relu gain, a=0
    ("densenet121", "features.conv0.weight", (2 / (3 * 49)) ** 0.5),          # fan_in
    ("squeezenet1_1", "classifier.1.weight", 0.01),                           # normal(0, 0.01)
    ("googlenet", "fc.weight", 0.01 * 0.8796),   # trunc_normal(0, .01, -2, 2): std shrinks
])
def test_initialisation_follows_torchvision(name, param, expected_std):
    kwargs = {"init_weights": True} if name == "googlenet" else {}
    e = dict(vision.models.get_model(name, **kwargs).named_parameters())[param]
    t = dict(_torch_model(name, **kwargs).named_parameters())[param]
    assert _std(e) == pytest.approx(_std(t), rel=0.08)
    if name != "googlenet":
        assert _std(e) == pytest.approx(expected_std, rel=0.08)
    else:  # std 0.01 truncated at +-2 (absolute: 200 sigma) is just normal(0, 0.01)
        assert _std(e) == pytest.approx(0.01, rel=0.08)
    bn = [p for n, p in vision.models.get_model(name, **kwargs).named_parameters()
          if n.endswith("bias") and "bn" in n]
    assert all(not b.detach().numpy().any() for b in bn)


def test_weights_are_not_downloaded_and_the_error_says_what_to_do():
    with pytest.raises(RuntimeError, match=r"does not download pretrained weights.*resnet18-f37072fd"
                                           r"\.pth.*ember\.load\('model\.safetensors'\)"):
        vision.models.resnet18(weights=vision.models.ResNet18_Weights.IMAGENET1K_V1)
    with pytest.raises(RuntimeError, match="IMAGENET1K_V2"):
        vision.models.resnet50(weights="DEFAULT")
    with pytest.warns(UserWarning, match="'pretrained' is deprecated"):
        with pytest.raises(RuntimeError, match="does not download"):
            vision.models.alexnet(pretrained=True)
    with pytest.warns(UserWarning, match="'pretrained' is deprecated"):
        assert isinstance(vision.models.alexnet(pretrained=False), vision.models.AlexNet)
    with pytest.raises(ValueError, match="Failed to find Weights IMAGENET9K"):
        vision.models.resnet18(weights="IMAGENET9K")
    with pytest.raises(TypeError, match="positional"):
        vision.models.resnet18(True)


def test_weight_enums_mirror_torchvisions():
    tv = torchvision().models
    for name in ALL:
        ours, theirs = vision.models.get_model_weights(name), tv.get_model_weights(name)
        assert ours.__name__ == theirs.__name__
        assert [w.name for w in ours] == [w.name for w in theirs]
        assert [w.url for w in ours] == [w.url for w in theirs]
        assert ours.DEFAULT.name == theirs.DEFAULT.name
    assert vision.models.get_weight("ResNet50_Weights.IMAGENET1K_V2") is \
        vision.models.ResNet50_Weights.IMAGENET1K_V2


def test_weights_transforms_preprocess_as_torchvision():
    from PIL import Image
    image = Image.fromarray(np.random.default_rng(2).integers(0, 256, (300, 400, 3), np.uint8))
    want = torchvision().models.ResNet50_Weights.DEFAULT.transforms()(image).numpy()
    got = vision.models.ResNet50_Weights.DEFAULT.transforms()(image).numpy()
    assert got.shape == want.shape == (3, 224, 224)
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_fine_tuning_recipe_replaces_the_head():
    """The transfer-learning tutorial: freeze everything, swap the classifier, train it."""
    model = vision.models.resnet18()
    for p in model.parameters():
        p.requires_grad = False
    model.fc = ember.nn.Linear(model.fc.in_features, 2)
    opt = ember.optim.SGD(model.fc.parameters(), lr=0.1)
    loss = ember.nn.functional.cross_entropy(model(ember.randn(2, 3, 32, 32)), ember.tensor([0, 1]))
    loss.backward()
    opt.step()
    assert model.conv1.weight.grad is None and model.fc.weight.grad is not None
