"""The command line as an adversarial user meets it: every bad invocation ends with one
``error: ...`` line on stderr (argparse's own errors included, through ember.cli._Parser) and
exit status 2 - never a traceback, never a 60 GiB allocation or a 98,000-frame GIF.

Each case runs in-process through ``ember.cli.main`` (fast); two run the real ``ember`` entry
point in a subprocess, and two simulate a missing optional dependency in a subprocess.
"""
import os
import re
import subprocess
import sys
import textwrap

import pytest

from ember.cli import main

# {tmp}: a fresh temporary directory holding: not_an_image.txt, a_dir/, a_file, and the
# modules fuzz_raises.py (raises on import), fuzz_models.py (Net, NeedsArgs, NOT_A_MODEL,
# Broken - a model whose forward fails)
BAD = [
    # ember itself
    "--no-such-option",
    "no-such-command",
    # demo: argparse types, and an output directory that cannot be one
    "demo --epochs 0",
    "demo --epochs -3",
    "demo --epochs x",
    "demo --batch-size 0",
    "demo --lr 0",
    "demo --lr -1",
    "demo --lr nan",
    "demo --optimizer rmsprop",
    "demo --limit 0",
    "demo --threads 0",
    "demo --seed 1.5",
    "demo --epochs 1 --limit 8 --output-dir {tmp}/a_file",
    "demo --epochs 1 --limit 8 --output-dir {tmp}/a_file/sub",
    # explain size
    "explain size",
    "explain size conv9d --input 1,1,5,5 -k 3",
    "explain size conv2d --input 1,1,5,5",
    "explain size conv2d --input 1,,5 -k 3 --out-channels 1",
    "explain size conv2d --input a,b -k 3 --out-channels 1",
    "explain size conv2d --input 1,1,5,5 -k 3",
    "explain size conv2d --input 1,1,5,5 -k 0 --out-channels 1",
    "explain size conv2d --input 1,1,5,5 -k -3 --out-channels 1",
    "explain size conv2d --input 1,1,5,5 -k 7 --out-channels 1",
    "explain size conv2d --input 1,1,5,5 -k 3 --out-channels 0",
    "explain size conv2d --input 1,1,5,5 -k 3 --out-channels 1 -s 0",
    "explain size conv2d --input 1,1,5 -k 3 --out-channels 1",
    "explain size conv2d --input 1,1,5,5 -k 3,3,3 --out-channels 1",
    "explain size conv2d --input 1,3,5,5 -k 3 --out-channels 2 -g 2",
    "explain size conv2d --input 1,1,5,5 -k 3 --out-channels 1 -p bogus",
    "explain size max_pool2d --input 1,1,5,5 -k 2 -p 2",
    "explain size max_unpool2d --input 1,1,2,2 -k 2 --output-size 9,9",
    # explain matrix
    "explain matrix --input 3,,3 -o {tmp}/m",
    "explain matrix --input 0,0 -o {tmp}/m",
    "explain matrix --input -4,4 -o {tmp}/m",
    "explain matrix --input 4,4,4,4 -o {tmp}/m",
    "explain matrix -k 9 -o {tmp}/m",
    "explain matrix -k 0 -o {tmp}/m",
    "explain matrix -s 0 -o {tmp}/m",
    "explain matrix -d 0 -o {tmp}/m",
    "explain matrix -p -1 -o {tmp}/m",
    "explain matrix -k 3,3,3 -o {tmp}/m",
    "explain matrix --in-channels 0 -o {tmp}/m",
    "explain matrix --in-channels 3 -g 2 -o {tmp}/m",
    "explain matrix --out-channels -1 -o {tmp}/m",
    "explain matrix --weights ones -o {tmp}/m",
    "explain matrix --input 300,300 -o {tmp}/m",
    "explain matrix --input 100000 -o {tmp}/m",
    "explain matrix --input 64,64 --in-channels 64 --out-channels 64 -o {tmp}/m",
    "explain matrix --input 300,300 --max-memory 0 -o {tmp}/m",
    "explain matrix --input 300,300 --max-memory lots -o {tmp}/m",
    "explain matrix -o {tmp}/a_file",
    "explain matrix -o {tmp}/a_file/sub",
    # explain animate
    "explain animate conv3d --input 3,3,3 -k 2 -o {tmp}/a",
    "explain animate conv2d --input 5 -k 2 -o {tmp}/a",
    "explain animate conv2d --input 5,5,5 -k 2 -o {tmp}/a",
    "explain animate conv2d --input 5,5 -k 7 -o {tmp}/a",
    "explain animate conv2d --input 5,5 -k 0 -o {tmp}/a",
    "explain animate conv2d --input 0,5 -k 1 -o {tmp}/a",
    "explain animate avg_pool1d --input 5 -k 2 --divisor-override 2 -o {tmp}/a",
    "explain animate avg_pool2d --input 5,5 -k 2 --divisor-override 0 -o {tmp}/a",
    "explain animate conv2d --input 5,5 -k 3 --cell 0 -o {tmp}/a",
    "explain animate conv2d --input 5,5 -k 3 --cell -5 -o {tmp}/a",
    "explain animate conv2d --input 5,5 -k 3 --cell 100000 -o {tmp}/a",
    "explain animate conv2d --input 300,300 -k 3 -o {tmp}/a",
    "explain animate conv2d --input 100000,100000 -k 3 -o {tmp}/a",
    "explain animate conv1d --input 100000 -k 3 -o {tmp}/a",
    "explain animate conv2d --input 40,40 -k 3 --max-frames 10 -o {tmp}/a",
    "explain animate conv2d --input 5,5 -k 3 --max-frames 0 -o {tmp}/a",
    "explain animate conv2d --input 5,5 -k 3 -o {tmp}/a_file",
    "explain animate conv2d --input 5,5 -k 3 -o {tmp}/a_file/sub",
    "explain animate conv_transpose2d --input 3,3 -k 3 -s 2 --output-padding 5 -o {tmp}/a",
    "explain animate max_unpool2d --input 2,2 -k 2 --output-size 9,9 -o {tmp}/a",
    # explain activation
    "explain activation nope -o {tmp}/act",
    "explain activation leaky_relu --param negative_slope -o {tmp}/act",
    "explain activation leaky_relu --param =0.2 -o {tmp}/act",
    "explain activation leaky_relu --param bogus=1 -o {tmp}/act",
    "explain activation leaky_relu --param negative_slope=abc -o {tmp}/act",
    "explain activation elu --param alpha=1 --param alpha=2 -o {tmp}/act",
    "explain activation sigmoid --range=6,-6 -o {tmp}/act",
    "explain activation sigmoid --range=1 -o {tmp}/act",
    "explain activation sigmoid --range=a,b -o {tmp}/act",
    "explain activation sigmoid --range=0,nan -o {tmp}/act",
    "explain activation sigmoid --range=0,inf -o {tmp}/act",
    "explain activation sigmoid -o {tmp}/a_file",
    "explain activation all -o {tmp}/a_file/sub",
    # explain features
    "explain features {tmp}/missing.jpg -o {tmp}/f",
    "explain features {tmp}/a_dir -o {tmp}/f",
    "explain features {tmp}/not_an_image.txt -o {tmp}/f",
    "explain features --size 0 -o {tmp}/f",
    "explain features --size -10 -o {tmp}/f",
    "explain features --size 100000 -o {tmp}/f",
    "explain features --seeds a,b -o {tmp}/f",
    "explain features --seeds 1,,2 -o {tmp}/f",
    "explain features -o {tmp}/a_file",
    # explain checkerboard
    "explain checkerboard --image {tmp}/missing.jpg -o {tmp}/c",
    "explain checkerboard --image {tmp}/a_dir -o {tmp}/c",
    "explain checkerboard --image {tmp}/not_an_image.txt -o {tmp}/c",
    "explain checkerboard -o {tmp}/a_file/sub",
    # explain summary
    "explain summary",
    "explain summary nosuchmodel",
    "explain summary no_such_module_xyz:Net",
    "explain summary fuzz_models:Missing",
    "explain summary fuzz_models:NOT_A_MODEL",
    "explain summary fuzz_models:NeedsArgs",
    "explain summary fuzz_models:Net",
    "explain summary fuzz_models:Broken --input 1,4",
    "explain summary fuzz_raises:Net",
    "explain summary :Net",
    "explain summary fuzz_models:",
    "explain summary lenet --input 1,3,32,32",
    "explain summary lenet --input 1,1,5,5",
    "explain summary lenet --input 1,1,20000,20000",
    "explain summary lenet --input 1,,32",
    "explain summary lenet --input -1,1,32,32",
    "explain summary lenet --input 1,3,100000,100000",
    "explain summary lenet --input 1,1,100000,100000",
    "explain summary mlp --input 100000000,1,28,28",
]

MODELS_PY = '''
from ember import nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        return self.fc(x)

class NeedsArgs(nn.Module):
    def __init__(self, width):
        super().__init__()

class Broken(nn.Module):
    def forward(self, x):
        raise RuntimeError("this model is broken")

NOT_A_MODEL = 3
'''


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    (tmp_path / "not_an_image.txt").write_text("hello, not a picture\n")
    (tmp_path / "a_dir").mkdir()
    (tmp_path / "a_file").write_text("a file where a folder should be\n")
    (tmp_path / "fuzz_raises.py").write_text("raise RuntimeError('fuzz_raises fails on import')\n")
    (tmp_path / "fuzz_models.py").write_text(MODELS_PY)
    monkeypatch.chdir(tmp_path)
    yield tmp_path
    for name in ("fuzz_raises", "fuzz_models"):
        sys.modules.pop(name, None)


def assert_clean_error(err):
    assert "Traceback" not in err, err
    lines = err.strip().splitlines()
    # every error, argparse's included, is exactly one line starting with "error: "
    assert len(lines) == 1 and lines[0].startswith("error: "), err


def test_bad_invocations_fail_cleanly(workspace, capsys):
    failures = []
    for case in BAD:
        argv = case.format(tmp=workspace).split()
        try:
            main(argv)
        except SystemExit as e:
            code = e.code
        except BaseException as e:  # noqa: BLE001 - report every case, not only the first
            failures.append(f"{case}: raised {type(e).__name__}: {e}")
            continue
        else:
            code = 0
        err = capsys.readouterr().err
        try:
            assert code == 2, f"exit status {code}"
            assert_clean_error(err)
        except AssertionError as e:
            failures.append(f"{case}: {e}")
    assert not failures, f"{len(failures)} of {len(BAD)} cases:\n" + "\n".join(failures)


def test_enough_cases():
    assert len(BAD) >= 60


def test_memory_limit_message_gives_the_estimate(workspace, capsys):
    with pytest.raises(SystemExit) as e:
        main(["explain", "matrix", "--input", "300,300", "-o", str(workspace / "m")])
    err = capsys.readouterr().err
    assert e.value.code == 2
    assert re.fullmatch(r"error: the matrix would take [\d.]+ GiB \(limit 2 GiB\); pass "
                        r"--max-memory to raise the limit\n", err), err
    assert not (workspace / "m").exists()   # refused before anything was made


def test_max_memory_and_max_frames_raise_the_limits(workspace, capsys):
    out = str(workspace / "a")
    with pytest.raises(SystemExit):
        main(["explain", "animate", "conv1d", "--input", "40", "-k", "3", "--max-frames", "20",
              "-o", out])
    assert "40 frames (limit 20)" in capsys.readouterr().err
    assert main(["explain", "animate", "conv1d", "--input", "40", "-k", "3", "--max-frames", "40",
                 "-o", out]) == 0
    out_text, err = capsys.readouterr()
    assert "40 frames: intro, 38 output elements, outro" in out_text
    assert re.search(r"frame 40/40", err), err          # the progress counter
    with pytest.raises(SystemExit):
        main(["explain", "matrix", "--input", "12,12", "--max-memory", "0.001", "-o", out])
    assert "(limit 0.001 GiB)" in capsys.readouterr().err
    assert main(["explain", "matrix", "--input", "12,12", "--max-memory", "0.1", "-o", out]) == 0


def test_summary_finds_a_module_in_the_current_directory(workspace, capsys):
    assert main(["explain", "summary", "fuzz_models:Net", "--input", "3,4"]) == 0
    assert "Total params: 10" in capsys.readouterr().out


def _run(args, **kwargs):
    return subprocess.run(args, capture_output=True, text=True, timeout=120, **kwargs)


def _ember():
    return [os.path.join(os.path.dirname(sys.executable), "ember")]


def test_entry_point_end_to_end(tmp_path):
    result = _run(_ember() + ["explain", "features", str(tmp_path / "missing.jpg"),
                              "-o", str(tmp_path)])
    assert result.returncode == 2
    assert result.stderr == f"error: no such image file: {tmp_path / 'missing.jpg'}\n"
    result = _run(_ember() + ["explain", "size", "conv2d", "-i", "1,1,5,5", "--out-channels", "1",
                              "-k", "3"])
    assert result.returncode == 0 and "output: [1, 1, 3, 3]" in result.stdout


MISSING = textwrap.dedent("""
    import sys
    sys.modules[{module!r}] = None      # as if the package were not installed
    from ember.cli import main
    main({argv!r})
""")


@pytest.mark.parametrize("module, argv, extra", [
    ("PIL", None, "ember[vision]"),
    ("matplotlib", ["explain", "activation", "sigmoid", "-o", "OUT"], "ember[explain]"),
])
def test_missing_extra_says_what_to_install(tmp_path, module, argv, extra):
    if argv is None:
        code = f"import sys; sys.modules[{module!r}] = None; import ember.vision"
    else:
        code = MISSING.format(module=module, argv=[str(tmp_path) if a == "OUT" else a for a in argv])
    result = _run([sys.executable, "-c", code])
    assert result.returncode != 0
    assert f"pip install '{extra}'" in result.stderr
    if argv is not None:   # the command line: one clean line, status 2
        assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
        assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
