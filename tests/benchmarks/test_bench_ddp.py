"""benchmarks/bench_ddp.py's driver pieces that need no processes: which names select it, and
how its figures are reported (ratios, the target on two processes, speed-ups over one process,
the overlap lines, missing figures)."""
from __future__ import annotations

from benchmarks import bench_ddp as bd
from benchmarks import harness


def test_selected_by_group_or_case_name_and_by_default():
    assert bd.selected([]) and bd.selected(["ddp"]) and bd.selected(["lenet_step_b64_x4"])
    assert not bd.selected(["conv"]) and not bd.selected(["distributed"])


def test_table_and_markdown_report_ratios_speedups_and_overlap():
    result = {"cases": {bd.case_name(1): {"ember": 30.0, "torch": 40.0},
                        bd.case_name(2): {"ember": 20.0, "torch": 16.0},
                        bd.case_name(4): {"torch": 10.0}},
              "overlap": {"overlap_default": {"hidden": 0.0, "buckets": 1, "alone_ms": 0.2},
                          "overlap_0.05MB": {"hidden": 0.625, "buckets": 3, "alone_ms": 0.4}},
              "errors": ["ember x4: no result"]}
    table = bd.format_table(result).splitlines()
    one, two, four = (table[i].split() for i in (1, 2, 3))
    assert one[3:] == ["0.75", "-", "-", "1.00x", "1.00x"]
    assert two[3:] == ["1.25", "1", "NO", "1.50x", "2.50x"]  # target on two processes only
    assert four[1] == "-" and four[-1] == "4.00x"
    assert "0.05MB buckets (3): 62% of 0.400 ms" in table[4]
    assert "default buckets (1): 0% of 0.200 ms" in table[5]
    assert table[-1] == "error: ember x4: no result"
    md = bd.format_markdown(result, command="python -m benchmarks ddp", rounds=3, repeat=5,
                            min_time=0.1)
    assert md.startswith(harness._begin("ddp")) and md.rstrip().endswith(harness._end("ddp"))
    assert f"| `{bd.case_name(2)}` | 20 | 16 | 1.25 | 1 | NO | 1.50x | 2.50x |" in md
