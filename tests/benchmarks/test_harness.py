"""The benchmark harness's logic: registration, selection, inputs, driver, report, docs update.

Tiny cases, one round, one repeat: nothing here asserts on timings.
"""
import subprocess
import sys

import numpy as np
import pytest

from benchmarks import __main__ as cli
from benchmarks import _worker, harness


@pytest.fixture
def registry(monkeypatch):
    """An empty case registry, so that test cases do not leak into the real one."""
    cases = {}
    monkeypatch.setattr(harness, "_CASES", cases)
    return cases


class FakeLib:
    """A stand-in for ember/torch: from_numpy wraps the array, requires_grad_ records the flag."""

    class Tensor:
        def __init__(self, array):
            self.array, self.requires_grad = array, False

        def requires_grad_(self, flag=True):
            self.requires_grad = flag
            return self

    @classmethod
    def from_numpy(cls, array):
        return cls.Tensor(array)


def make_result(name, ember_ms, torch_ms, target=1.0, group="core", error=None):
    c = harness.Case(name, lambda lib: None, target, group, "benchmarks.bench_core")
    ember = harness.LibResult(round_ms=ember_ms, peak_mib=[1.5])
    torch = harness.LibResult(round_ms=torch_ms, peak_mib=[None], error=error)
    return harness.CaseResult(c, {"ember": ember, "torch": torch})


# ----------------------------------------------------------------------------- registration

def test_case_registers_with_module_family_as_group(registry):
    @harness.case("tiny", target=0.5)
    def tiny(lib):
        """First line.

        More."""
        return lambda: None

    c = registry["tiny"]
    assert (c.name, c.target, c.setup, c.description) == ("tiny", 0.5, tiny, "First line.")
    assert c.group == "test_harness"  # this module's name without a bench_ prefix
    assert harness._family("benchmarks.bench_conv") == "conv"


def test_case_group_override(registry):
    harness.case("x", group="pool")(lambda lib: None)
    assert registry["x"].group == "pool"


def test_case_defined_twice_raises(registry):
    def first(lib):
        return lambda: None

    def second(lib):
        return lambda: None

    harness.case("dup")(first)
    harness.case("dup")(first)  # re-registering the same function (module re-import) is fine
    with pytest.raises(ValueError, match="benchmark case 'dup' is defined twice"):
        harness.case("dup")(second)


@pytest.mark.parametrize("target", [0, -1.0])
def test_case_target_must_be_positive(target):
    with pytest.raises(ValueError, match="target must be a positive ratio"):
        harness.case("bad", target=target)


def test_discover_finds_core_cases():
    cases = harness.discover()
    assert {"tiny_mul_1x8", "matmul_256x4096x4096", "exp_25M"} <= set(cases)
    assert cases["tiny_mul_1x8"].target == 0.5 and cases["tiny_mul_1x8"].group == "core"
    assert all(c.description for c in cases.values()), "every case has a docstring"


def test_select_by_name_or_group(registry):
    for name, group in [("conv2d_a", "conv"), ("conv3d_b", "conv"), ("mul_c", "core")]:
        harness.case(name, group=group)(lambda lib: None)
    names = lambda patterns: [c.name for c in harness.select(registry, patterns)]  # noqa: E731
    assert names([]) == ["conv2d_a", "conv3d_b", "mul_c"]
    assert names(["3d"]) == ["conv3d_b"]
    assert names(["core", "2d"]) == ["conv2d_a", "mul_c"]
    with pytest.raises(SystemExit, match="no benchmark case matches 'nothing'"):
        harness.select(registry, ["nothing"])


# ----------------------------------------------------------------------------- inputs

def test_randn_draws_the_same_numbers_for_every_library():
    torch = pytest.importorskip("torch")
    harness.reset_inputs()
    a, b = harness.randn(FakeLib, 3, 4), harness.randn(FakeLib, 2, dtype="float64")
    harness.reset_inputs()
    ta = harness.randn(torch, 3, 4, requires_grad=True)
    tb = harness.randn(torch, 2, dtype="float64")
    np.testing.assert_array_equal(ta.detach().numpy(), a.array)
    np.testing.assert_array_equal(tb.numpy(), b.array)
    assert ta.requires_grad and not tb.requires_grad
    assert (ta.dtype, tb.dtype) == (torch.float32, torch.float64)
    assert a.array.shape == (3, 4) and a.array.dtype == np.float32
    assert not np.array_equal(a.array[0, :2], b.array), "consecutive draws differ"


def test_randn_rejects_integer_dtype():
    with pytest.raises(TypeError, match="randn: dtype must be a floating dtype, got 'int64'"):
        harness.randn(FakeLib, 2, dtype="int64")


def test_array_makes_contiguous_copy_of_strided_input():
    t = harness.array(FakeLib, np.arange(12.0).reshape(3, 4).T, requires_grad=True)
    assert t.array.flags.c_contiguous and t.requires_grad


def test_forward_backward_clears_grads_then_backpropagates():
    torch = pytest.importorskip("torch")
    a = torch.ones(3, requires_grad=True)
    b = torch.full((3,), 2.0, requires_grad=True)
    step = harness.forward_backward(lambda: a * b, (a, b), torch.ones(3))
    step()
    step()  # a second call stores, not accumulates: the grads were cleared first
    assert a.grad.tolist() == [2.0] * 3 and b.grad.tolist() == [1.0] * 3
    harness.forward_backward(lambda: (a * b).sum(), (a,))()  # grad=None for a scalar output
    assert a.grad.tolist() == [2.0] * 3


# ----------------------------------------------------------------------------- worker pieces

def test_warm_up_and_repeats_count_calls():
    calls = []
    number = _worker.warm_up(lambda: calls.append(1), min_time=0.0)
    assert number == 1 and len(calls) >= 2
    calls.clear()
    times = _worker.time_repeats(lambda: calls.append(1), repeat=3, number=4)
    assert len(times) == 3 and len(calls) == 12 and all(t >= 0 for t in times)


def test_peak_memory_sees_an_allocation_inside_the_block():
    with _worker.PeakMemory() as memory:
        block = np.ones(64 * 2**20 // 8)  # 64 MiB, pages touched
        del block
    if memory.mib is None:
        pytest.skip("no /proc/self/clear_refs on this system")
    assert memory.mib > 48


def test_round_order_alternates_abba():
    assert [harness.round_order(r) for r in range(4)] == [
        ("ember", "torch"), ("torch", "ember"), ("ember", "torch"), ("torch", "ember")]


def test_run_worker_times_a_case_in_a_fresh_process():
    out = harness.run_worker("torch", "tiny_mul_1x8", repeat=1, min_time=0.0)
    assert out["lib"] == "torch" and out["case"] == "tiny_mul_1x8"
    assert len(out["times_ms"]) == 1 and out["median_ms"] > 0 and out["number"] >= 1
    blas_threads = max(b["num_threads"] for b in out["env"]["numpy_blas"])
    assert out["env"]["threads"] == blas_threads  # torch gets NumPy's BLAS thread count


def test_run_worker_reports_errors():
    out = harness.run_worker("torch", "no_such_case", repeat=1, min_time=0.0)
    assert out == {"error": "KeyError: \"no benchmark case named 'no_such_case'\""}


# ----------------------------------------------------------------------------- report

def test_ratio_target_and_best_round():
    met = make_result("a", [2.0, 1.0, 3.0], [2.0, 4.0], target=0.6)
    assert met.libs["ember"].best_ms == 1.0 and met.ratio == 0.5 and met.met is True
    assert met.libs["ember"].peak == 1.5 and met.libs["torch"].peak is None
    missed = make_result("b", [3.0], [2.0], target=1.3)
    assert missed.ratio == 1.5 and missed.met is False
    assert make_result("c", [3.0], [2.0], target=None).met is None
    failed = make_result("d", [1.0], [], error="ImportError: x")
    assert failed.ratio is None and failed.errors == ["torch: ImportError: x"]
    row = harness.format_row(missed)
    assert "1.50" in row and "NO" in row and "1.3" in row
    assert "error" in harness.format_row(failed) and "torch: ImportError: x" in harness.format_row(
        failed)


def test_table_columns_line_up():
    results = [make_result("a_long_case_name_beyond_28_chars", [1.0], [2.0]),
               make_result("b", [10.0], [2.5])]
    table = harness.format_table(results, rounds=1, repeat=1, min_time=0.0).splitlines()
    assert len({len(line) for line in table[:3]}) == 1, "\n".join(table[:3])
    assert table[0].split()[:3] == ["case", "ember", "ms"] and "OPENBLAS_CORETYPE" in table[-2]


def test_markdown_sections_and_docs_update(tmp_path):
    results = [make_result("a", [1.0], [2.0]), make_result("p", [1.0], [1.0], group="pool")]
    md = harness.format_markdown(results, command="python -m benchmarks a p", rounds=1,
                                 repeat=1, min_time=0.0, load=0.5)
    assert md.count("<!-- benchmarks:core begin -->") == 1 and "### pool" in md
    assert "| `a` | 1 | 2 | 0.50 | 1 | yes | 1.5 | - |" in md
    assert "`python -m benchmarks a p`" in md and "load average 0.50" in md

    docs = tmp_path / "benchmarks.md"
    docs.write_text("# Benchmarks\n\nIntro.\n\n<!-- benchmarks:core begin -->\nold core\n"
                    "<!-- benchmarks:core end -->\n\nOutro.\n")
    harness.update_docs(str(docs), md)
    text = docs.read_text()
    assert "old core" not in text and text.count("### core") == 1
    assert text.index("Intro.") < text.index("### core") < text.index("Outro.") < text.index(
        "### pool")
    harness.update_docs(str(docs), md)  # idempotent
    assert docs.read_text() == text


def test_recorded_command_drops_output_flags():
    argv = ["core", "--rounds", "3", "--markdown", "--update-docs", "out.md", "--repeat=2"]
    assert cli.recorded_command(argv) == "python -m benchmarks core --rounds 3 --repeat=2"
    assert cli.recorded_command(["--update-docs"]) == "python -m benchmarks"


def test_command_line_end_to_end():
    """Both libraries, one round of one repeat of the tiny case, through `python -m benchmarks`."""
    proc = subprocess.run([sys.executable, "-m", "benchmarks", "tiny_mul", "--rounds", "1",
                           "--repeat", "1", "--min-time", "0", "--markdown"],
                          cwd=harness.REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "tiny_mul_1x8" in proc.stdout and "OPENBLAS_CORETYPE" in proc.stdout
    assert "numba" in proc.stdout and "<!-- benchmarks:core begin -->" in proc.stdout
