"""benchmarks/bench_distributed.py's driver pieces that need no processes: which names select
it, and how its figures are reported (ratios, the target, missing figures)."""
from __future__ import annotations

from benchmarks import bench_distributed as bd
from benchmarks import harness


def test_selected_by_group_or_case_name_and_by_default():
    assert bd.selected([]) and bd.selected(["distributed"]) and bd.selected(["all_reduce_10MB"])
    assert not bd.selected(["conv"]) and not bd.selected(["ddp"])


def test_table_and_markdown_report_ratios_against_the_raw_engine():
    result = {"cases": {bd.case_name(1): {"ember": 1.1, "mpi": 1.0, "torch": 2.2},
                        bd.case_name(10): {"ember": 13.0, "mpi": 10.0},
                        bd.case_name(100): {}},
              "errors": ["torch: no result"]}
    table = bd.format_table(result).splitlines()
    assert table[0].split()[:4] == ["case", "ember", "ms", "MPI"]
    one, ten, hundred = table[1].split(), table[2].split(), table[3].split()
    assert one[3:] == ["1.10", "1.2", "yes", "2.2", "0.50"]
    assert ten[3:6] == ["1.30", "1.2", "NO"] and ten[-2:] == ["-", "-"]
    assert hundred[1:4] == ["-", "-", "-"]
    assert table[-1] == "error: torch: no result"
    md = bd.format_markdown(result, command="python -m benchmarks distributed", rounds=3,
                            repeat=5, min_time=0.1)
    assert md.startswith(harness._begin("distributed")) and md.rstrip().endswith(
        harness._end("distributed"))
    assert f"| `{bd.case_name(1)}` | 1.1 | 1 | 1.10 | 1.2 | yes | 2.2 | 0.50 |" in md
