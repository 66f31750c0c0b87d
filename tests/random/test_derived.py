"""Everything built on the generator draws torch's numbers in torch's order: nn.init, the
layers' default initialisation, dropout masks, RReLU, fractional max pooling, the samplers and
DataLoader shuffling (TRAPS.md #31-#33); the seeded training run is a drop-in script."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import ember

from .test_streams import _assert_same, _same_bytes


INITS = {
    "uniform_": lambda L, t: L.nn.init.uniform_(t, -0.3, 0.7),
    "normal_": lambda L, t: L.nn.init.normal_(t, 0.1, 0.3),
    "xavier_uniform_": lambda L, t: L.nn.init.xavier_uniform_(t),
    "xavier_normal_": lambda L, t: L.nn.init.xavier_normal_(t, gain=2.0),
    "kaiming_uniform_": lambda L, t: L.nn.init.kaiming_uniform_(t, a=math.sqrt(5)),
    "kaiming_normal_": lambda L, t: L.nn.init.kaiming_normal_(t, mode="fan_out",
                                                               nonlinearity="relu"),
    "trunc_normal_": lambda L, t: L.nn.init.trunc_normal_(t, std=0.5),
    "trunc_normal_far": lambda L, t: L.nn.init.trunc_normal_(t, mean=0.0, std=1.0, a=2.0, b=3.0),
}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", [(4, 3), (16, 9), (6, 3, 3, 3)])
@pytest.mark.parametrize("name", sorted(INITS))
def test_init_bitwise(name, shape, dtype):
    _assert_same(5, lambda L: INITS[name](L, L.empty(shape, dtype=getattr(L, dtype))))


def test_sparse_draws_its_zero_rows_from_the_default_generator_as_torch():
    _assert_same(5, lambda L: L.nn.init.sparse_(L.empty(10, 6), 0.3,
                                                generator=L.Generator().manual_seed(1)))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_orthogonal_up_to_lapacks_qr(dtype):
    """Same normals drawn, same stream after; Q from NumPy's LAPACK agrees to rounding."""
    torch.manual_seed(3)
    ember.manual_seed(3)
    t = torch.nn.init.orthogonal_(torch.empty(6, 10, dtype=getattr(torch, dtype)))
    e = ember.nn.init.orthogonal_(ember.empty(6, 10, dtype=getattr(ember, dtype)))
    assert _same_bytes(torch.get_rng_state(), ember.get_rng_state())
    np.testing.assert_allclose(e.numpy(), t.numpy(), atol=1e-6 if dtype == "float32" else 1e-13)


LAYERS = {
    "Linear": lambda L: L.nn.Linear(20, 7),
    "Conv2d": lambda L: L.nn.Conv2d(3, 8, 5),
    "ConvTranspose2d": lambda L: L.nn.ConvTranspose2d(3, 2, 3),
    "BatchNorm2d": lambda L: L.nn.BatchNorm2d(4),
    "Embedding": lambda L: L.nn.Embedding(10, 4),
    "LSTM": lambda L: L.nn.LSTM(5, 6, 2),
    "Sequential": lambda L: L.nn.Sequential(L.nn.Conv2d(1, 4, 3), L.nn.ReLU(), L.nn.Flatten(),
                                            L.nn.Linear(4 * 26 * 26, 10)),
}


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layers_initialise_to_torchs_weights(name):
    def draw(L):
        return list(LAYERS[name](L).state_dict().values())
    _assert_same(0, draw)


DROPOUTS = {"dropout": (4, 5, 6), "alpha_dropout": (4, 5, 6), "feature_alpha_dropout": (4, 5, 6),
            "dropout1d": (4, 5, 6), "dropout2d": (4, 5, 3, 3), "dropout3d": (2, 3, 2, 2, 2)}


@pytest.mark.parametrize("p", [0.1, 0.5, 0.77])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("fn", sorted(DROPOUTS))
def test_trap33_dropout_masks_portable_path(fn, dtype, p):
    """bernoulli_(1 - p) with a scalar p: the portable kernel (one float64 uniform per element),
    which torch runs on this CPU; the noise scaled in the input's dtype."""
    x = np.random.default_rng(0).standard_normal(DROPOUTS[fn]).astype(dtype)
    _assert_same(2, lambda L: getattr(L.nn.functional, fn)(L.tensor(x), p, True))


def test_dropout_module_and_inplace():
    x = np.random.default_rng(1).standard_normal((8, 16)).astype(np.float32)

    def draw(L):
        m = L.nn.Dropout(0.25)
        y = L.tensor(x)
        return [m(L.tensor(x)), L.nn.functional.dropout(y, 0.4, True, inplace=True), y]
    _assert_same(4, draw)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_rrelu_training_noise(dtype):
    x = np.random.default_rng(0).standard_normal((3, 50)).astype(dtype)
    _assert_same(1, lambda L: [L.nn.functional.rrelu(L.tensor(x), training=True),
                               L.nn.RReLU(0.1, 0.4)(L.tensor(x))])


def test_fractional_max_pool_samples():
    x = np.random.default_rng(0).standard_normal((2, 3, 12, 12)).astype(np.float32)
    _assert_same(6, lambda L: [L.nn.FractionalMaxPool2d(3, output_size=5)(L.tensor(x)),
                               L.nn.functional.fractional_max_pool2d(L.tensor(x), 2,
                                                                     output_ratio=(0.5, 0.5))])


def _data_draws(L, D):
    ds = D.TensorDataset(L.arange(23))
    g = L.Generator().manual_seed(3)
    out = [list(D.RandomSampler(ds)), list(D.RandomSampler(ds, replacement=True, num_samples=70)),
           list(D.RandomSampler(ds, num_samples=50)), list(D.RandomSampler(ds, generator=g)),
           list(D.SubsetRandomSampler([5, 7, 9, 11, 13])),
           list(D.WeightedRandomSampler([0.1, 0.9, 0.4, 0.0, 2.0], 12)),
           list(D.WeightedRandomSampler([0.1, 0.9, 0.4, 0.0, 2.0], 3, replacement=False)),
           [s.indices for s in D.random_split(range(17), [0.3, 0.3, 0.4])],
           [s.indices for s in D.random_split(range(10), [3, 7], generator=g)]]
    loader = D.DataLoader(ds, batch_size=5, shuffle=True)
    out += [[b[0].tolist() for b in loader] for _epoch in range(2)]
    return out


def test_samplers_and_shuffled_dataloader_give_torchs_indices():
    from torch.utils import data as tdata

    from ember.utils import data as edata
    torch.manual_seed(0)
    ember.manual_seed(0)
    assert _data_draws(torch, tdata) == _data_draws(ember, edata)
    assert _same_bytes(torch.get_rng_state(), ember.get_rng_state())


# The seeded LeNet script (tests/dropin/scripts/seeded_lenet_dropout.py: same weights, shuffles
# and dropout masks as torch) is checked to 1e-5 relative by tests/dropin/test_scripts.py (STRICT).


def test_convolution_tutorial_set_seed_and_xavier_normal_give_torchs_filter():
    """The convolution tutorials' pattern: a set_seed helper, a Conv2d, xavier_normal_ on its
    weight; the filter (so the feature-map pictures) is torch's bit for bit."""
    import random

    def run(lib):
        def set_seed(seed):
            random.seed(seed)
            np.random.seed(seed)
            lib.manual_seed(seed)
            lib.cuda.manual_seed_all(seed)  # a no-op without a GPU, in both
        set_seed(1)
        conv = lib.nn.Conv2d(3, 4, kernel_size=3, padding=1, bias=False)
        lib.nn.init.xavier_normal_(conv.weight)
        image = lib.rand(1, 3, 8, 8)
        with lib.no_grad():
            return conv.weight.detach().numpy().copy(), conv(image).numpy()
    (tw, tout), (ew, eout) = run(torch), run(ember)
    np.testing.assert_array_equal(ew, tw)
    np.testing.assert_allclose(eout, tout, rtol=1e-6, atol=1e-6)
