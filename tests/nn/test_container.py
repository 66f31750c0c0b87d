"""ember.nn containers (Sequential, ModuleList, ModuleDict, ParameterList, ParameterDict) against
torch's: the same code runs on ``lib`` in (ember, torch) with the same expectations, and reprs,
names and state_dict keys are compared directly."""
import types
from collections import OrderedDict

import numpy as np
import pytest
import torch

import ember

LIBS = pytest.mark.parametrize("lib", [ember, torch], ids=["ember", "torch"])


def classes(lib):
    """Leaf modules written once against ``lib``: no dependence on ember's layer files."""

    class Scale(lib.nn.Module):
        def __init__(self, k):
            super().__init__()
            self.k = k
            self.weight = lib.nn.Parameter(lib.full((2,), float(k)))

        def forward(self, x):
            return x * self.weight

        def extra_repr(self):
            return f"k={self.k}"

    class AddOne(lib.nn.Module):
        def forward(self, x):
            return x + 1

    return types.SimpleNamespace(Scale=Scale, AddOne=AddOne)


E, T = classes(ember), classes(torch)
NS = {ember: E, torch: T}


def names(m):
    return [n for n, _ in m.named_parameters()]


# -- Sequential ------------------------------------------------------------------------------------

@LIBS
def test_sequential_chains_forward(lib):
    ns = NS[lib]
    seq = lib.nn.Sequential(ns.Scale(2), ns.AddOne(), ns.Scale(3))
    assert seq(lib.ones(2)).tolist() == [9.0, 9.0]
    assert lib.nn.Sequential()(lib.ones(2)).tolist() == [1.0, 1.0]  # empty: identity
    assert names(seq) == ["0.weight", "2.weight"]


@LIBS
def test_sequential_indexing_and_slicing(lib):
    ns = NS[lib]
    a, b, c = ns.Scale(1), ns.AddOne(), ns.Scale(3)
    seq = lib.nn.Sequential(a, b, c)
    assert seq[0] is a and seq[-1] is c and seq[-3] is a and len(seq) == 3
    assert list(seq) == [a, b, c]
    sub = seq[1:]
    assert type(sub) is lib.nn.Sequential and list(sub) == [b, c]
    assert list(sub._modules) == ["1", "2"]  # slicing keeps the keys
    assert list(seq[::-1]) == [c, b, a]
    with pytest.raises(IndexError, match="index 3 is out of range"):
        seq[3]
    with pytest.raises(IndexError, match="index -4 is out of range"):
        seq[-4]
    with pytest.raises(IndexError, match="index 0 is out of range"):
        lib.nn.Sequential()[0]
    with pytest.raises(TypeError):
        seq["0"]


@LIBS
def test_sequential_from_ordered_dict(lib):
    ns = NS[lib]
    seq = lib.nn.Sequential(OrderedDict([("first", ns.Scale(1)), ("act", ns.AddOne()), ("last", ns.Scale(2))]))
    assert names(seq) == ["first.weight", "last.weight"]
    assert seq.first is seq[0] and seq.act is seq[1]
    assert list(seq[1:]._modules) == ["act", "last"]
    del seq[0]  # deleting renumbers every key, names included (torch's behaviour)
    assert list(seq._modules) == ["0", "1"]


@LIBS
def test_sequential_editing(lib):
    ns = NS[lib]
    a, b, c, d = ns.Scale(1), ns.AddOne(), ns.Scale(3), ns.Scale(4)
    seq = lib.nn.Sequential(a)
    assert seq.append(b) is seq
    assert seq.extend([c]) is seq
    assert list(seq) == [a, b, c]
    assert seq.insert(1, d) is seq and list(seq) == [a, d, b, c]
    seq.insert(-1, ns.AddOne())
    assert [type(m).__name__ for m in seq] == ["Scale", "Scale", "AddOne", "AddOne", "Scale"]
    assert list(seq._modules) == ["0", "1", "2", "3", "4"]
    with pytest.raises(IndexError, match="Index out of range: 9"):
        seq.insert(9, a)
    with pytest.raises(AssertionError, match="module should be of type"):
        seq.insert(0, "x")
    seq[0] = b
    assert seq[0] is b
    assert seq.pop(1) is d and len(seq) == 4
    del seq[-1]
    assert list(seq._modules) == ["0", "1", "2"]
    del seq[0:2]
    assert len(seq) == 1 and list(seq._modules) == ["0"]


@LIBS
def test_sequential_add_and_multiply(lib):
    ns = NS[lib]
    a, b = ns.Scale(1), ns.AddOne()
    s1, s2 = lib.nn.Sequential(a), lib.nn.Sequential(b)
    s3 = s1 + s2
    assert list(s3) == [a, b] and len(s1) == 1
    s1 += s2
    assert list(s1) == [a, b]
    rep = s2 * 3
    assert list(rep) == [b, b, b] and list(2 * s2) == [b, b]
    s2 *= 2
    assert list(s2) == [b, b]
    with pytest.raises(ValueError, match="add operator supports only objects of Sequential class"):
        s1 + [b]
    with pytest.raises(ValueError, match="Non-positive multiplication factor 0"):
        s1 * 0
    with pytest.raises(TypeError, match="unsupported operand type"):
        s1 * 1.5


def test_sequential_repr_matches_torch():
    build = lambda lib, ns: lib.nn.Sequential(  # noqa: E731
        ns.Scale(1), lib.nn.Sequential(ns.AddOne(), ns.Scale(2)),
        lib.nn.Sequential(OrderedDict([("inner", ns.AddOne())])))
    assert repr(build(ember, E)) == repr(build(torch, T))
    assert repr(ember.nn.Sequential()) == repr(torch.nn.Sequential()) == "Sequential()"


@LIBS
def test_sequential_dir_hides_numeric_keys(lib):
    keys = dir(lib.nn.Sequential(NS[lib].AddOne()))
    assert "0" not in keys and "append" in keys


# -- ModuleList --------------------------------------------------------------------------------------

@LIBS
def test_module_list_registers_and_indexes(lib):
    ns = NS[lib]
    mods = [ns.Scale(i) for i in range(4)]
    ml = lib.nn.ModuleList(mods)
    assert len(ml) == 4 and list(ml) == mods and ml[-1] is mods[3]
    assert names(ml) == ["0.weight", "1.weight", "2.weight", "3.weight"]
    assert type(ml[1:3]) is lib.nn.ModuleList and list(ml[1:3]) == mods[1:3]
    with pytest.raises(IndexError, match="index 4 is out of range"):
        ml[4]
    holder = lib.nn.Module()
    holder.layers = ml
    assert [n for n, _ in holder.named_parameters()][:2] == ["layers.0.weight", "layers.1.weight"]


@LIBS
def test_module_list_editing(lib):
    ns = NS[lib]
    a, b, c = ns.Scale(1), ns.AddOne(), ns.Scale(3)
    ml = lib.nn.ModuleList()
    assert ml.append(a) is ml and ml.extend([b]) is ml
    ml += [c]
    assert list(ml) == [a, b, c]
    ml.insert(0, c)
    assert list(ml) == [c, a, b, c]
    ml[1] = b
    assert ml[1] is b
    assert ml.pop(0) is c
    del ml[-1]
    assert list(ml) == [b, b] and list(ml._modules) == ["0", "1"]
    del ml[0:1]
    assert list(ml._modules) == ["0"]
    combined = ml + lib.nn.ModuleList([a])
    assert list(combined) == [b, a]
    with pytest.raises(TypeError, match="ModuleList.extend should be called with an iterable, but got int"):
        ml.extend(3)
    with pytest.raises(TypeError, match="is not a Module subclass"):
        ml.append(3)


def test_module_list_repr_compresses_repeats_like_torch():
    build = lambda lib, ns: lib.nn.ModuleList(  # noqa: E731
        [ns.AddOne(), ns.AddOne(), ns.Scale(2), ns.Scale(2), ns.Scale(2), ns.Scale(3), ns.AddOne(),
         lib.nn.Sequential(ns.AddOne(), ns.AddOne())])
    assert repr(build(ember, E)) == repr(build(torch, T))
    assert repr(build(ember, E)).splitlines()[1:3] == ["  (0-1): 2 x AddOne()", "  (2-4): 3 x Scale(k=2)"]
    assert repr(ember.nn.ModuleList()) == "ModuleList()"
    e, t = ember.nn.Module(), torch.nn.Module()
    e.blocks = ember.nn.ModuleList([E.Scale(1)] * 3)
    t.blocks = torch.nn.ModuleList([T.Scale(1)] * 3)
    assert repr(e) == repr(t)


# -- ModuleDict --------------------------------------------------------------------------------------

@LIBS
def test_module_dict(lib):
    ns = NS[lib]
    a, b, c = ns.Scale(1), ns.AddOne(), ns.Scale(3)
    md = lib.nn.ModuleDict({"z": a, "b": b})
    assert list(md) == ["z", "b"] and list(md.keys()) == ["z", "b"]  # insertion order
    assert md["z"] is a and "b" in md and len(md) == 2
    md["c"] = c
    assert list(md.values()) == [a, b, c] and list(md.items())[2] == ("c", c)
    assert names(md) == ["z.weight", "c.weight"]
    md.update([("d", ns.AddOne()), ("z", c)])
    assert md["z"] is c and list(md) == ["z", "b", "c", "d"]
    assert md.pop("b") is b and "b" not in md
    del md["d"]
    assert list(md) == ["z", "c"]
    md.clear()
    assert len(md) == 0
    with pytest.raises(TypeError, match="ModuleDict.update should be called with an iterable of "
                                        "key/value pairs, but got int"):
        md.update(3)
    with pytest.raises(ValueError, match="ModuleDict update sequence element #0 has length 3; 2 is required"):
        md.update([("a", a, b)])
    with pytest.raises(TypeError, match="ModuleDict update sequence element #0 should be Iterable; isint"):
        md.update([1])
    with pytest.raises(KeyError):
        md["missing"]


def test_module_dict_repr_matches_torch():
    build = lambda lib, ns: lib.nn.ModuleDict({"act": ns.AddOne(), "scale": ns.Scale(2)})  # noqa: E731
    assert repr(build(ember, E)) == repr(build(torch, T))


# -- ParameterList / ParameterDict ---------------------------------------------------------------------

@LIBS
def test_parameter_list_converts_tensors(lib):
    p = lib.nn.Parameter(lib.zeros(2))
    pl = lib.nn.ParameterList([p, lib.ones(3), "not a tensor"])
    assert len(pl) == 3 and pl[0] is p
    assert isinstance(pl[1], lib.nn.Parameter) and pl[1].requires_grad
    assert pl[2] == "not a tensor"
    assert names(pl) == ["0", "1"]
    pl.append(lib.ones(1))
    pl.extend([lib.ones(4)])
    pl += [lib.ones(5)]
    assert len(pl) == 6 and names(pl)[-1] == "5"
    pl[0] = lib.zeros(7)
    assert isinstance(pl[0], lib.nn.Parameter) and tuple(pl[0].shape) == (7,)
    sub = pl[1:4:2]
    assert type(sub) is lib.nn.ParameterList and len(sub) == 2 and sub[0] is pl[1]
    assert [type(x).__name__ for x in pl][:3] == ["Parameter", "Parameter", "str"]
    with pytest.raises(IndexError, match="index 6 is out of range"):
        pl[6]
    with pytest.raises(TypeError, match="ParameterList.extend should be called with an iterable, but got"):
        pl.extend(lib.ones(2))
    with pytest.raises(RuntimeError, match="ParameterList should not be called."):
        pl(1)


def test_parameter_list_repr_matches_torch():
    e = ember.nn.ParameterList([ember.nn.Parameter(ember.zeros(2, 3)), ember.zeros(4, dtype=ember.float64), "x"])
    t = torch.nn.ParameterList([torch.nn.Parameter(torch.zeros(2, 3)), torch.zeros(4, dtype=torch.float64), "x"])
    assert repr(e) == repr(t).replace("torch.", "ember.")
    assert repr(e).splitlines()[1] == "    (0): Parameter containing: [ember.float32 of size 2x3]"


@LIBS
def test_parameter_dict(lib):
    p = lib.nn.Parameter(lib.zeros(2))
    pd = lib.nn.ParameterDict({"b": p, "a": lib.ones(3)})
    assert list(pd) == ["a", "b"]  # a plain dict is inserted in sorted key order
    assert pd["b"] is p and isinstance(pd["a"], lib.nn.Parameter) and "a" in pd
    assert names(pd) == ["a", "b"]
    pd2 = lib.nn.ParameterDict(OrderedDict([("y", lib.ones(1)), ("x", lib.ones(1))]))
    assert list(pd2) == ["y", "x"]
    pd.update([("c", lib.ones(1)), ("other", 5)])
    assert list(pd.keys()) == ["a", "b", "c", "other"] and pd["other"] == 5
    assert list(reversed(pd)) == ["other", "c", "b", "a"]
    assert pd.get("zz", 1) == 1 and pd.get("b") is p
    assert pd.setdefault("b") is p and pd.setdefault("new", None) is None
    assert pd.pop("new") is None
    assert pd.popitem()[0] == "other"
    assert [k for k, _ in pd.items()] == ["a", "b", "c"] and len(list(pd.values())) == 3
    cp = pd.copy()
    assert list(cp) == ["a", "b", "c"] and cp["b"] is p
    merged = pd | pd2
    assert list(merged) == ["a", "b", "c", "y", "x"]
    pd |= pd2
    assert len(pd) == 5
    assert list(pd.fromkeys(["k1", "k2"])) == ["k1", "k2"]
    del pd["a"]
    assert "a" not in pd and not hasattr(pd, "a")
    pd.clear()
    assert len(pd) == 0 and names(pd) == []
    with pytest.raises(TypeError, match="Index given to ParameterDict cannot be used as a key as it is "
                                        "not a string \\(type is 'int'\\)"):
        pd[1] = lib.ones(1)
    with pytest.raises(TypeError, match="ParametersDict.update should be called with an iterable of "
                                        "key/value pairs, but got int"):
        pd.update(1)
    with pytest.raises(ValueError, match="ParameterDict update sequence element #0 has length 1; 2 is required"):
        pd.update([("a",)])
    with pytest.raises(RuntimeError, match="ParameterDict should not be called."):
        pd(1)


def test_parameter_dict_repr():
    pd = ember.nn.ParameterDict({"w": ember.zeros(3, 1), "s": "x"})
    # torch prints torch.typename(p) ('torch.FloatTensor'); ember prints the dtype
    assert repr(pd) == ("ParameterDict(\n    (s): Object of type: str\n"
                        "    (w): Parameter containing: [ember.float32 of size 3x1]\n)")


# -- whole-model behaviour through containers ------------------------------------------------------------

def _model(lib, ns):
    return lib.nn.Sequential(OrderedDict([
        ("body", lib.nn.ModuleList([ns.Scale(1), ns.Scale(2)])),
        ("heads", lib.nn.ModuleDict({"cls": ns.Scale(3)})),
        ("extra", lib.nn.ParameterList([lib.nn.Parameter(lib.zeros(2))])),
        ("table", lib.nn.ParameterDict({"t": lib.nn.Parameter(lib.ones(1))})),
    ]))


def test_state_dict_keys_through_containers_match_torch():
    e, t = _model(ember, E), _model(torch, T)
    assert list(e.state_dict()) == list(t.state_dict()) == [
        "body.0.weight", "body.1.weight", "heads.cls.weight", "extra.0", "table.t"]
    assert repr(e) == repr(t).replace("torch.", "ember.").replace("ember.FloatTensor", "ember.float32")


def test_state_dict_round_trip_through_containers():
    src, dst = _model(ember, E), _model(ember, E)
    for p in src.parameters():
        ember.nn.init.normal_(p)
    dst.load_state_dict({k: v.numpy() for k, v in src.state_dict().items()})
    for (n1, p1), (n2, p2) in zip(src.named_parameters(), dst.named_parameters()):
        assert n1 == n2
        np.testing.assert_array_equal(p1.detach().numpy(), p2.detach().numpy())


def test_gradients_flow_through_sequential():
    seq = ember.nn.Sequential(E.Scale(2), E.AddOne(), E.Scale(3))
    seq(ember.ones(2)).sum().backward()
    np.testing.assert_array_equal(seq[0].weight.grad.numpy(), [3.0, 3.0])  # d/dw0 of 3*(2x+1)... x=1
    np.testing.assert_array_equal(seq[2].weight.grad.numpy(), [3.0, 3.0])  # 2*1+1
