"""``ember demo`` (ember/demo.py): the bundled data, the command line, and a short training run
whose checkpoint loads back into the model."""
from __future__ import annotations

import io
import os

import numpy as np
import pytest

import ember
from ember import cli, demo


def test_bundled_digits():
    images, labels = demo.load_digits()
    assert images.shape == (1797, 1, 8, 8) and images.dtype == np.float32
    assert labels.shape == (1797,) and labels.dtype == np.int64
    assert images.min() == 0 and images.max() == 16
    assert np.array_equal(np.unique(labels), np.arange(10))
    assert os.path.exists(os.path.join(os.path.dirname(demo.DATA_FILE), "README.md"))


def test_split_is_fixed_by_seed():
    a_train, a_test = demo.split(1797, seed=3)
    b_train, b_test = demo.split(1797, seed=3)
    assert np.array_equal(a_train, b_train) and np.array_equal(a_test, b_test)
    assert len(a_test) == 359 and len(a_train) == 1438
    assert not set(a_train) & set(a_test)
    assert not np.array_equal(demo.split(1797, seed=4)[1], a_test)


def test_help_documents_the_options(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["demo", "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for option in ("--epochs", "--batch-size", "--lr", "--output-dir", "--seed", "--optimizer",
                   "--limit"):
        assert option in text


def test_bad_options_are_rejected(capsys):
    with pytest.raises(SystemExit):
        cli.main(["demo", "--epochs", "0"])
    assert "must be a positive integer" in capsys.readouterr().err


def test_progress_bar_without_a_terminal():
    stream = io.StringIO()
    bar = demo.ProgressBar(stream)
    bar.update(1, 2, 5, 10, 0.5, 0.25, 1.0)  # not a TTY: nothing until the epoch ends
    assert stream.getvalue() == ""
    bar.finish(1, 2, 10, 10, 0.5, 0.25, 1.0)
    assert stream.getvalue() == ("epoch 1/2 [####################] 10/10  loss 0.5000  "
                                 "acc  25.0%  1.0s\n")


def test_short_training_run_learns_and_checkpoints(tmp_path):
    out = io.StringIO()
    result = demo.train(epochs=1, batch_size=16, limit=800, output_dir=str(tmp_path), seed=1,
                        stream=out)
    text = out.getvalue()
    assert "epoch 1/1" in text and "test accuracy" in text and "checkpoint saved" in text
    assert result["test_accuracy"] > 0.3  # chance is 0.1; this short run reaches about 0.7
    ckpt = ember.load(result["checkpoint"])
    assert ckpt["epoch"] == 1 and ckpt["test_accuracy"] == result["test_accuracy"]
    model = demo.build_model()
    model.load_state_dict(ckpt["model"])
    images, labels = demo.load_digits()
    _, test_idx = demo.split(len(images), seed=1)
    mean, std = ckpt["normalization"]["mean"], ckpt["normalization"]["std"]
    x = ember.from_numpy((images[test_idx] - mean) / std)
    assert demo.evaluate(model, x, labels[test_idx]) == result["test_accuracy"]


def test_command_line_run(tmp_path, capsys):
    assert cli.main(["demo", "--epochs", "1", "--limit", "64", "--batch-size", "64",
                     "--optimizer", "sgd", "--output-dir", str(tmp_path / "out")]) == 0
    assert "test accuracy" in capsys.readouterr().out
    assert os.path.exists(tmp_path / "out" / demo.CHECKPOINT_NAME)


def test_one_thread_runs_the_serial_kernels_and_restores_the_switch():
    # threads=1 must switch ember's parallel kernels off too (the test set's forward would
    # otherwise compile the parallel twins on a first run, only to run them on one thread)
    from ember import _state
    assert _state.parallel_enabled()
    with demo.limit_threads(1):
        assert not _state.parallel_enabled() and ember.get_num_threads() == 1
    assert _state.parallel_enabled()
    _state.set_parallel(False)
    try:
        with demo.limit_threads(2):
            assert _state.parallel_enabled()
        assert not _state.parallel_enabled()
    finally:
        _state.set_parallel(True)
