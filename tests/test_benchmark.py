"""benchmarks/train_step.py runs (a measurement, so nothing here is timed): one JSON line per configuration, with
the fields docs/performance.md reports, also under torchrun with loader workers."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_train_step_benchmark_prints_one_line_per_configuration_under_torchrun():
    cmd = [sys.executable, "benchmarks/train_step.py", "--device", "cpu", "--profile", "tiny", "--sizes", "32",
           "--steps", "1", "--batch", "2", "--threads", "1", "--workers", "1", "--processes", "2"]
    res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    lines = [json.loads(line) for line in res.stdout.splitlines() if line.startswith("{")]
    assert [d["config"] for d in lines] == ["eager_fp32", "fast"]  # rank 0 alone prints
    for d in lines:
        assert d["processes"] == 2 and d["resolution"] == 32 and d["gflop_per_step"] > 0
        assert d["images_per_s"] == pytest.approx(2 * 2 / d["s_per_step"], rel=1e-2)  # both processes' images
        assert 0 <= d["data_wait_share"] < 1
    assert lines[0]["data"] == "host, 0 workers" and lines[1]["data"] == "host, 1 workers"
