"""`ember explain ...`: every subcommand prints its result and where its files went, and
`ember explain --help` documents each one."""
import os
import re

import pytest

import ember
from ember.cli import main

SUBCOMMANDS = ["size", "matrix", "animate", "activation", "features", "checkerboard", "summary",
               "rnn", "attention", "upsample", "pixelshuffle"]


def run(capsys, *argv):
    rc = main(["explain", *argv])
    out, err = capsys.readouterr()
    return rc, out, err


def run_error(capsys, *argv):
    """A command that fails: exit status 2 and one 'error: ...' line, as argparse's errors."""
    with pytest.raises(SystemExit) as e:
        main(["explain", *argv])
    out, err = capsys.readouterr()
    assert err.startswith("error: ") and err.count("\n") == 1, err
    return e.value.code, out, err


def written(out):
    paths = re.findall(r"^wrote (.+)$", out, flags=re.M)
    assert paths, out
    for path in paths:
        assert os.path.getsize(path) > 1000
    return paths


def test_help_documents_every_subcommand(capsys):
    rc, out, _ = run(capsys)
    assert rc == 0
    for name in SUBCOMMANDS:
        assert re.search(rf"^  {name}\b", out, flags=re.M), name
    for name in SUBCOMMANDS:
        with pytest.raises(SystemExit):
            main(["explain", name, "--help"])
        assert "usage: ember explain " + name in capsys.readouterr().out


def test_size(capsys):
    rc, out, _ = run(capsys, "size", "conv2d", "--input", "1,3,512,512", "--out-channels", "1",
                     "--kernel-size", "3")
    assert rc == 0
    assert "= floor((512 + 2*0 - 1*(3-1) - 1) / 1) + 1 = 510" in out
    rc, out, _ = run(capsys, "size", "conv_transpose2d", "-i", "1,4,3,3", "--out-channels", "2",
                     "-k", "3", "-s", "2", "-p", "1", "--output-padding", "1")
    assert rc == 0 and "output: [1, 2, 6, 6]" in out
    rc, out, _ = run(capsys, "size", "max_pool1d", "-i", "1,1,5", "-k", "2", "-p", "1", "--ceil-mode")
    assert rc == 0 and "dropped" in out and "output: [1, 1, 3]" in out
    rc, out, err = run_error(capsys, "size", "conv2d", "-i", "1,1,5,5", "--out-channels", "1", "-k", "7")
    assert rc == 2 and "kernel 7 is larger than the padded input 5" in err


def test_animate(capsys, tmp_path):
    rc, out, _ = run(capsys, "animate", "max_pool2d", "-i", "4,4", "-k", "2", "-o", str(tmp_path))
    assert rc == 0 and "6 frames: intro, 4 output elements, outro" in out
    assert written(out)[0].endswith("max_pool2d.gif")
    rc, _, err = run_error(capsys, "animate", "conv2d", "-i", "3,3", "-k", "5", "-o", str(tmp_path))
    assert rc == 2 and "larger than the padded input" in err


def test_matrix(capsys, tmp_path):
    pytest.importorskip("matplotlib")
    rc, out, _ = run(capsys, "matrix", "-o", str(tmp_path))
    assert rc == 0 and "   1 2 3 . 4 5 6 . 7 8 9 . . . . ." in out
    assert written(out)[0].endswith("conv_matrix.png")


def test_activation(capsys, tmp_path):
    pytest.importorskip("matplotlib")
    rc, out, _ = run(capsys, "activation", "sigmoid", "-o", str(tmp_path))
    assert rc == 0 and "max f'(x) = 0.25 at x = 0" in out
    written(out)
    rc, out, _ = run(capsys, "activation", "leaky_relu", "--param", "negative_slope=0.2",
                     "--range=-2,2", "-o", str(tmp_path))
    assert rc == 0 and "f' on the plot: [0.2, 1]" in out
    rc, _, err = run_error(capsys, "activation", "nope", "-o", str(tmp_path))
    assert rc == 2 and "no activation 'nope'" in err


def test_checkerboard(capsys, tmp_path):
    pytest.importorskip("matplotlib")
    rc, out, _ = run(capsys, "checkerboard", "-o", str(tmp_path))
    assert rc == 0 and "interior values {1, 2, 4}" in out
    written(out)


def test_features(capsys, tmp_path):
    pytest.importorskip("matplotlib")
    rc, out, _ = run(capsys, "features", "--seeds", "0,1", "--size", "40", "-o", str(tmp_path))
    assert rc == 0 and out.count("conv output") == 4
    written(out)


@pytest.mark.skipif(not all(hasattr(ember.nn, m) for m in ("Linear", "Flatten", "Tanh")),
                    reason="ember.nn's Linear/Flatten/Tanh are not there yet")
def test_summary(capsys):
    rc, out, _ = run(capsys, "summary", "lenet", "--explain")
    assert rc == 0 and "Total params: 61,706" in out and "H_out = floor((32" in out
