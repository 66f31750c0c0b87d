"""``ember explain report``: the page's numbers are summary()'s and receptive_field()'s, the
pictures are computed from the layers, the page is self-contained, and bad input gives a page
that says where and why (or a refusal before allocating). The browser checks are in
test_report_browser.py."""
import builtins
import html.parser
import os
import re

import numpy as np
import pytest
import torch

import ember
from ember import nn
from ember.cli import main
from ember.explain.limits import MemoryLimitError
from ember.explain.matrix import conv_matrix
from ember.explain.receptive import receptive_field
from ember.explain.report import FAMILIES, build_report, layer_family, report_html, write_report
from ember.explain.summary import lenet, load_model, small_cnn, summary

PHOTO = os.path.join(os.path.dirname(ember.__file__), "explain", "data", "grace_hopper.jpg")


class _Cells(html.parser.HTMLParser):
    """The text of every cell of the rows ``<tr class=layer>``, by the cell's class, and every
    src/href of the page."""

    def __init__(self):
        super().__init__()
        self.rows, self.urls, self.ids = {}, [], set()
        self._row = self._cell = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.add(a["id"])
        for key in ("src", "href"):
            if key in a:
                self.urls.append((tag, key, a[key]))
        if tag == "tr" and a.get("class") == "layer":
            self._row = self.rows.setdefault(a["data-name"], {})
        elif tag == "td" and self._row is not None:
            self._cell = a.get("class", "").split()[0]
            self._row[self._cell] = ""

    def handle_endtag(self, tag):
        if tag == "td":
            self._cell = None
        elif tag == "tr":
            self._row = None

    def handle_data(self, data):
        if self._cell is not None:
            self._row[self._cell] += data


def _parse(text):
    cells = _Cells()
    cells.feed(text)
    return cells


@pytest.fixture(scope="module")
def lenet_page():
    model = lenet()
    report = build_report(model, (1, 1, 32, 32), name="lenet")
    return model, report, report_html(report)


def test_numbers_are_summarys(lenet_page):
    model, report, text = lenet_page
    want = summary(model, (1, 1, 32, 32), explain=True)
    rows = _parse(text).rows
    assert list(rows) == [info.name for info in want.layers]
    for info in want.layers:
        row = rows[info.name]
        assert row["type"] == info.type
        assert row["in"] == str(list(info.input_shape))
        assert row["out"] == str(list(info.output_shape))
        assert row["params"] == (f"{info.params:,}" if info.params else "--")
        assert row["madds"] == (f"{info.mult_adds:,}" if info.mult_adds else "--")
        assert row["formula"] == "".join(info.formula)
    for line in str(want).splitlines():      # the totals, as `explain summary` prints them
        key, _, value = line.partition(": ")
        if key in ("Total params", "Trainable params", "Total mult-adds"):
            assert f">{value}<" in text, line
    assert ">61,706<" in text and ">416,520 (0.42 M)<" in text


def test_runs_in_eval_mode_and_leaves_the_mode_as_it_was():
    """Batch norm after global pooling sees one value per channel for a batch of 1: an error in
    training mode (as ResNet's last one at 32x32), fine in eval mode (running statistics)."""
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.AdaptiveAvgPool2d(1), nn.BatchNorm2d(2))
    with pytest.raises(ValueError, match="Expected more than 1 value per channel"):
        model(ember.zeros(1, 1, 6, 6))
    report = build_report(model, (1, 1, 6, 6))
    assert report.failure is None and report.summary.layers[-1].output_shape == (1, 2, 1, 1)
    assert all(m.training for m in model.modules())
    model.eval()
    build_report(model, (1, 1, 6, 6))
    assert not any(m.training for m in model.modules())


def test_looking_at_a_model_does_not_change_it():
    """summary, receptive_field and the report leave batch norm's running statistics and the
    random stream (dropout masks) as they were."""
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Dropout(), nn.ReLU())
    state = {k: v.clone() for k, v in model.state_dict().items()}
    ember.manual_seed(0)
    want = ember.rand(3)
    ember.manual_seed(0)
    summary(model, (2, 1, 6, 6))
    receptive_field(model, (2, 1, 6, 6))
    build_report(model, (2, 1, 6, 6), image=np.full((2, 1, 6, 6), 0.5))
    assert ember.equal(ember.rand(3), want)
    for key, value in model.state_dict().items():
        assert ember.equal(value, state[key]), key
    assert all(m.training for m in model.modules())


def test_receptive_fields_and_memory_are_shown(lenet_page):
    model, report, text = lenet_page
    rows = _parse(text).rows
    for f in receptive_field(model, (1, 1, 32, 32)):
        cell = rows[f.name]["rf"]
        if f.defined:
            assert cell == (" x ".join(map(str, f.field.size)) + " / " + " x ".join(map(str, f.field.jump))
                            + " / " + ", ".join(map(str, f.field.start)))
        else:
            assert cell.startswith("--") and "not defined" in cell
    assert rows["features.5"]["rf"] == "16 x 16 / 4 x 4 / 0, 0"
    # 6x28x28 float32 outputs = 18,816 bytes
    assert rows["features.0"]["mem"] == "18.38 KB"
    assert 'data-bytes=18816' in text


def test_page_is_self_contained(lenet_page, tmp_path):
    _, report, _ = lenet_page
    path = write_report(report, str(tmp_path / "r.html"))
    text = open(path, encoding="utf-8").read()
    page = _parse(text)
    assert '<meta name=viewport content="width=device-width, initial-scale=1">' in text
    assert not re.search(r"<(script|link|iframe)[^>]*\b(src|href)=", text)
    assert not re.search(r"(https?|ftp|file):", text)     # no URL at all
    for tag, key, url in page.urls:
        if key == "src":
            assert url.startswith("data:image/png;base64,"), url
        elif url.startswith("#"):
            assert url[1:] in page.ids, url       # every in-page link has its target
        else:                                     # docs links: files of the checkout
            assert os.path.isfile(os.path.join(tmp_path, url.split("#")[0])), url
    assert "family-conv" in page.ids and "family-activation" in page.ids


def test_docs_are_named_without_a_checkout(lenet_page):
    _, report, _ = lenet_page
    text = report_html(report, docs_href=None)
    assert "<code class=docs>docs/activations.md</code>" in text
    assert "class=docs href" not in text


def test_every_family_has_a_docs_page():
    docs = os.path.join(os.path.dirname(os.path.dirname(ember.__file__)), "docs")
    for title, _, doc in FAMILIES.values():
        page, _, anchor = doc.partition("#")
        text = open(os.path.join(docs, page), encoding="utf-8").read()
        if anchor:   # GitHub's anchors: lower case, punctuation dropped, spaces as '-'
            heads = [re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-")
                     for h in re.findall(r"^#+ (.*)$", text, re.M)]
            assert anchor in heads, (title, anchor)
    assert layer_family("Conv2d") == "conv" and layer_family("ConvTranspose1d") == "conv_transpose"
    assert layer_family("AdaptiveAvgPool2d") == "adaptive_pool" and layer_family("GELU") == "activation"
    assert layer_family("BasicBlock", is_leaf=False) == "container"


def test_diagram_shows_where_branches_take_their_input():
    class Residual(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b, self.act = nn.Conv2d(1, 1, 3, padding=1), nn.Conv2d(1, 1, 1), nn.ReLU()

        def forward(self, x):
            return self.act(self.a(x) + self.b(x))

    model = nn.Sequential(nn.Conv2d(1, 1, 1), Residual())
    report = build_report(model, (1, 1, 6, 6))
    assert report.sources == {"0": "input", "1.a": "0", "1.b": "0", "1.act": None}
    text = report_html(report)
    assert text.count("<li class=\"from\"") == 2
    assert "<li class=\"from\" data-search=\"1.b conv2d\">input from 0</li>" in text
    assert "input from an operation in 1&#x27;s forward (e.g. an addition)" in text


def test_conv_matrices_are_the_layers(lenet_page):
    """Large layers: the first filter on a small input; a small layer: its own C."""
    model, report, _ = lenet_page
    first = report.convs[0]
    w = model.features[0].weight.detach().numpy()[:1, :1].astype(np.float64)
    np.testing.assert_array_equal(first.matrix.matrix, conv_matrix(w, (1, 7, 7)))
    assert not first.matrix.whole_layer and first.matrix.probe_error < 1e-12
    # LeNet's first conv on 1x32x32: C is (6*28*28) x (32*32), 25 taps per output
    assert (first.matrix.real_rows, first.matrix.real_cols, first.matrix.real_nonzeros) == (
        4704, 1024, 4704 * 25)
    small = nn.Sequential(nn.Conv2d(2, 2, 3, stride=2, padding=1, bias=False))
    view = build_report(small, (1, 2, 4, 4)).convs[0]
    assert view.matrix.whole_layer
    want = conv_matrix(small[0].weight.detach().numpy().astype(np.float64), (2, 4, 4), 2, 1)
    np.testing.assert_allclose(view.matrix.matrix, want)
    assert view.matrix.real_nonzeros == np.count_nonzero(want)
    assert view.matrix_png.startswith("data:image/png;base64,")
    grouped = nn.Sequential(nn.Conv1d(4, 2, 3, groups=2, dilation=2, padding=3))
    view = build_report(grouped, (1, 4, 6)).convs[0]
    want = conv_matrix(grouped[0].weight.detach().numpy().astype(np.float64), (4, 6), 1, 3, 2, 2)
    np.testing.assert_allclose(view.matrix.matrix, want)
    assert view.matrix.real_nonzeros == np.count_nonzero(want)


def test_activations_with_their_derivatives():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.LeakyReLU(0.2), nn.Conv2d(2, 2, 3), nn.ReLU(),
                          nn.Conv2d(2, 2, 3), nn.LeakyReLU(0.2), nn.GELU(approximate="tanh"))
    report = build_report(model, (1, 1, 12, 12))
    kinds = [(kind, curve.kwargs) for kind, curve in report.activations]
    assert kinds == [("LeakyReLU", {"negative_slope": 0.2}), ("ReLU", {}),
                     ("GELU", {"approximate": "tanh"})]
    curve = dict(report.activations)["LeakyReLU"]
    x = torch.tensor(curve.x, requires_grad=True)
    y = torch.nn.functional.leaky_relu(x, 0.2)
    y.sum().backward()
    np.testing.assert_allclose(curve.f, y.detach().numpy())
    np.testing.assert_allclose(curve.df, x.grad.numpy())
    text = report_html(report)
    assert text.count("<svg") == 3 and "f&#x27;(0) = 0" in text


def test_feature_maps_of_a_photo():
    model = small_cnn()
    report = build_report(model, (1, 3, 32, 32), image=PHOTO)
    names = [v.name for v in report.features]
    assert names == ["features.0", "features.2", "features.3", "features.5"]
    # the maps are the layer's output on the photo
    from ember.explain.report import load_input_image
    x = ember.tensor(load_input_image(PHOTO, (1, 3, 32, 32)), dtype=ember.float32)
    with ember.no_grad():
        conv = model.features[0](x).numpy()[0]
    view = report.features[0]
    assert [c for c, *_ in view.tiles] == list(range(8))
    np.testing.assert_allclose([mean for _, _, mean, _ in view.tiles], conv[:8].mean(axis=(1, 2)), rtol=1e-5)
    top = [c for c, *_ in view.top]
    assert top == list(np.argsort(-conv.mean(axis=(1, 2)), kind="stable")[:4])
    assert len(report.outputs_top) == 5
    assert report.image_png.startswith("data:image/png;base64,")
    # the receptive field of the most active channel's maximum, outlined on the photo
    last = report.features[-1]                      # features.5: r 10, jump 4, start -3
    (r0, r1), (c0, c1) = last.seen
    assert last.seen == report.fields["features.5"].field.extent(last.top[0][4])
    assert r1 - r0 == c1 - c0 == 9
    import base64
    import io
    from PIL import Image
    with Image.open(io.BytesIO(base64.b64decode(last.seen_png.split(",", 1)[1]))) as im:
        zoom = im.width // 32
        pixels = np.asarray(im.convert("RGB"))
    green = (pixels == (0, 230, 64)).all(axis=-1)
    rows, cols = np.nonzero(green)
    assert (rows.min(), cols.min()) == (max(r0, 0) * zoom, max(c0, 0) * zoom)
    assert (rows.max(), cols.max()) == (min(r1 + 1, 32) * zoom - 1, min(c1 + 1, 32) * zoom - 1)
    with pytest.raises(ValueError, match=r"needs an input shape \(N, 1 or 3, H, W\)"):
        build_report(lenet(), (1, 2, 32, 32), image=PHOTO)


def test_the_photo_is_normalised_like_transforms_normalize():
    from ember.explain.report import load_input_image
    mean, std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
    model = nn.Sequential(nn.Conv2d(3, 4, 3))
    report = build_report(model, (1, 3, 16, 16), image=PHOTO, mean=mean, std=std)
    x = ((torch.tensor(load_input_image(PHOTO, (1, 3, 16, 16))[0]) - torch.tensor(mean)[:, None, None])
         / torch.tensor(std)[:, None, None])       # transforms.Normalize's arithmetic
    want = model(ember.tensor(x.numpy()[None], dtype=ember.float32)).detach().numpy()[0]
    np.testing.assert_allclose([m for _, _, m, _ in report.features[0].tiles],
                               want.mean(axis=(1, 2)), rtol=1e-5)
    assert any("normalised" in note for note in report.notes)
    with pytest.raises(ValueError, match="mean needs 1 or 3 values"):
        build_report(model, (1, 3, 16, 16), image=PHOTO, mean=(0.5, 0.5))


def test_without_pillow_the_page_still_builds(monkeypatch):
    real_import = builtins.__import__

    def no_pil(name, *args, **kwargs):
        if name == "PIL" or name.startswith("PIL."):
            raise ImportError("No module named 'PIL'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pil)
    report = build_report(lenet(), (1, 1, 32, 32))
    text = report_html(report)
    assert "picture not drawn: Pillow is not installed" in text
    assert "<img" not in text and "<svg" in text and ">61,706<" in text


# ---------------------------------------------------------------------------------------------
# bad input

@pytest.mark.parametrize("shape, layer, kind, layer_input, error", [
    ((1, 1, 8, 8), "features.3", "Conv2d", (1, 6, 2, 2), "Kernel size can't be greater"),
    ((1, 1, 16, 16), "classifier.1", "Linear", (1, 16), "mat1 and mat2 shapes cannot be multiplied"),
])
def test_a_failing_model_gives_a_page_saying_where(shape, layer, kind, layer_input, error):
    report = build_report(lenet(), shape)
    f = report.failure
    assert (f.layer, f.type, f.input_shape) == (layer, kind, layer_input)
    assert error in f.error
    with pytest.raises(Exception) as raised:       # the same error as ember raises
        lenet()(ember.zeros(shape))
    assert f.error == f"{type(raised.value).__name__}: {raised.value}"
    text = report_html(report)
    assert f"<code>{layer}</code> ({kind})" in text and "Traceback" not in text
    assert "The layers that ran before" in text
    if kind == "Conv2d":   # the size formula says it in words
        assert "kernel 5 is larger than the padded input 2 along H" in text


def test_a_failure_in_the_models_own_code_is_escaped():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU())

        def forward(self, x):
            y = self.body(x)
            raise ValueError(f"<script>alert('{list(y.shape)}')</script>")

    report = build_report(Net(), (1, 1, 6, 6))
    f = report.failure
    assert (f.layer, f.type, f.input_shape) == ("", "Net", (1, 1, 6, 6))
    assert [row[:2] for row in f.ran] == [("body.0", "Conv2d"), ("body.1", "ReLU")]
    text = report_html(report)
    assert "the model's own forward (Net)" in text
    assert "<script>alert" not in text
    assert "ValueError: &lt;script&gt;alert(&#x27;[1, 2, 4, 4]&#x27;)&lt;/script&gt;" in text


def test_huge_sizes_are_refused_before_allocating():
    with pytest.raises(MemoryLimitError, match="the input would take 37.3 GiB"):
        build_report(lenet(), (1, 1, 100000, 100000))
    with pytest.raises(MemoryLimitError, match="receptive-field pass"):
        build_report(lenet(), (1, 1, 32, 32), max_bytes=120_000)


# ---------------------------------------------------------------------------------------------
# models and the command line

def test_load_model_zoo_file_and_checkpoints(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "net.py").write_text(
        "from ember import nn\n"
        "class Net(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.conv = nn.Conv2d(1, 2, 3)\n"
        "    def forward(self, x):\n"
        "        return self.conv(x)\n")
    model, size = load_model("net.py:Net")
    assert type(model).__name__ == "Net" and size is None
    # a checkpoint torch wrote, of the same architecture, loads without unpickling code
    tnet = torch.nn.Module()
    tnet.conv = torch.nn.Conv2d(1, 2, 3)
    torch.save({"state_dict": tnet.state_dict()}, tmp_path / "w.pt")
    model, _ = load_model("net.py:Net", checkpoint="w.pt")
    np.testing.assert_array_equal(model.conv.weight.detach().numpy(), tnet.conv.weight.detach().numpy())
    ember.save(model.state_dict(), tmp_path / "w.safetensors")
    again, _ = load_model("net.py:Net", checkpoint="w.safetensors")
    np.testing.assert_array_equal(again.conv.bias.detach().numpy(), tnet.conv.bias.detach().numpy())
    with pytest.raises(ValueError, match="does not fit Sequential"):
        load_model("lenet", checkpoint="w.safetensors")
    with pytest.raises(ValueError, match="no such checkpoint"):
        load_model("lenet", checkpoint="nothing.pt")
    with pytest.raises(ValueError, match="net.py has no attribute 'Nope'"):
        load_model("net.py:Nope")
    with pytest.raises(ValueError, match="no such file: gone.py"):
        load_model("gone.py:Net")
    r18, size = load_model("resnet18")
    assert size == (1, 3, 224, 224) and type(r18).__name__ == "ResNet"


def test_cli_writes_the_page(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["explain", "report", "lenet"]) == 0      # default: ./ember-explain/report.html
    assert (tmp_path / "ember-explain" / "report.html").exists()
    out = tmp_path / "page.html"
    assert main(["explain", "report", "lenet", "-o", str(out)]) == 0
    assert "open it in a browser: file://" in capsys.readouterr().out
    assert ">61,706<" in out.read_text(encoding="utf-8")
    assert main(["explain", "report", "lenet", "-o", str(tmp_path)]) == 0
    assert (tmp_path / "report.html").exists()


def _fails(argv):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    return exit_.value.code != 0


def test_cli_bad_input(tmp_path, capsys):
    out = tmp_path / "fail.html"
    assert _fails(["explain", "report", "lenet", "--input", "1,1,16,16", "-o", str(out)])
    err = capsys.readouterr().err
    assert "the model failed on an input of shape [1, 1, 16, 16] at classifier.1 (Linear" in err
    assert "Traceback" not in err and "The model failed at" in out.read_text(encoding="utf-8")
    big = tmp_path / "big.html"
    assert _fails(["explain", "report", "lenet", "--input", "1,1,100000,100000", "-o", str(big)])
    assert "pass --max-memory to raise the limit" in capsys.readouterr().err
    assert not big.exists()
    assert _fails(["explain", "report", "small_cnn", "--image", str(tmp_path / "no.jpg"),
                 "-o", str(big)])
    assert "no such image file" in capsys.readouterr().err
    (tmp_path / "text.jpg").write_text("not an image")
    assert _fails(["explain", "report", "small_cnn", "--image", str(tmp_path / "text.jpg"),
                 "-o", str(big)])
    assert "cannot read the image" in capsys.readouterr().err
    assert _fails(["explain", "report", "small_cnn", "--image", PHOTO, "--std", "0.2,0.2",
                   "-o", str(big)])
    assert "std needs 1 or 3 values (one per channel), got 2" in capsys.readouterr().err
    assert _fails(["explain", "report", "small_cnn", "--mean", "0.5", "-o", str(big)])
    assert "give it with --image" in capsys.readouterr().err
    assert _fails(["explain", "report", "nomodel", "-o", str(big)])
    assert "unknown model 'nomodel'" in capsys.readouterr().err
