"""Validation statistics: vectorised bootstrap and subgroup intervals against naive baselines, same run.

1. A 2,000-resample bootstrap of AUROC on 100,000 cases: the score bins of
   qms.validation.resampled_auroc (one sort, O(cases) per resample; compiled, drawing each
   resample itself from the chunk's seed; numpy, and torch on CUDA when present) against the
   earlier form (one sort of each resample's draws, the drawn positives' rank sum) and a
   loop of sklearn.metrics.roc_auc_score over the same resamples (timed on `--naive` of them
   and scaled), with the protocol's draws alone (compiled, qms.validation.pcg64_draws, and
   numpy's Generator.integers: the same values) and a check that every engine gives the
   same interval.
2. Per-subgroup intervals for 40 subgroups on 1,000,000 cases (AUROC with DeLong,
   sensitivity and specificity with a 2,000-resample bootstrap), through
   qms.validation.subgroups.analyse, against fairlearn's MetricFrame alone (point values,
   no intervals) on the same data.

Run: python benchmarks/bench_validation.py [--naive 100] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

import numpy as np
from fairlearn.metrics import MetricFrame
from sklearn.metrics import recall_score, roc_auc_score

from qms.validation.auroc import SortedScores, auroc
from qms.validation.intervals import CIMethod, _chunks, bootstrap, resample_draws
from qms.validation.metrics import CISpec, LabelCases, Metric, interval
from qms.validation.protocol import AttributeSpec, Multiplicity, Subgroups
from qms.validation.resampled_auroc import ScoreBins, torch_device
from qms.validation.subgroups import analyse


_CPU: list[float] = []


def _median_time(fn: Callable[[], object], repeats: int) -> float:
    """Median wall time; the median CPU time (all threads) goes to _CPU, since a shared machine inflates wall time."""
    times, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    _CPU.append(statistics.median(cpu))
    return statistics.median(times)


def _auroc_bootstrap(scores: np.ndarray, y: np.ndarray, clusters: np.ndarray, engine: str) -> tuple[float, float]:
    """One 2,000-resample percentile bootstrap of AUROC: engine "old" (a sort per resample), else ScoreBins'."""
    ss = SortedScores(scores, y)
    on_draws = ss.auroc_of_draws if engine == "old" else ScoreBins(scores, y, engine)
    iv = bootstrap(ss.auroc, auroc(scores, y), clusters, resamples=2000, seed=1, level=0.95,
                   method=CIMethod.BOOTSTRAP_PERCENTILE, on_draws=on_draws)
    return iv.lower, iv.upper


def bench_bootstrap(repeats: int, naive: int) -> None:
    rng = np.random.default_rng(0)
    n, b = 100_000, 2000
    y = (rng.random(n) < 0.3).astype(np.int64)
    s = rng.normal(size=n) + 1.2 * y
    clusters = np.arange(n, dtype=np.int64)
    engines = ["numba", "numpy", "old"] + (["cuda"] if torch_device() else [])
    print(f"bootstrap AUROC, {n:,} cases x {b:,} resamples (median of {repeats}; CPU: all threads)")
    results: dict[str, tuple[float, float]] = {}
    times: dict[str, float] = {}
    label = {"numba": "score bins, compiled (new)", "numpy": "score bins, numpy", "old": "sort per resample (old)",
             "cuda": "score bins, torch CUDA"}
    ScoreBins(s[:100], y[:100], "numba")(np.zeros((1, 100), dtype=np.int32))  # compile (or load the cache) first
    for engine in engines:
        def run(engine: str = engine) -> None:
            results[engine] = _auroc_bootstrap(s, y, clusters, engine)

        times[engine] = _median_time(run, repeats)
        print(f"  {label[engine]:28s} {times[engine]:8.2f} s  (CPU {_CPU[-1]:.2f} s)")
    t_draws = _median_time(lambda: sum(d.size for d in resample_draws(n, b, 1)), repeats)
    print(f"  the protocol's draws alone   {t_draws:8.2f} s  (CPU {_CPU[-1]:.2f} s: compiled, stored; one thread)")

    def numpy_draws() -> int:
        return sum(np.random.default_rng(child).integers(0, n, size=(size, n), dtype=np.int32).size
                   for child, size in _chunks(n, b, 1))

    t_np = _median_time(numpy_draws, repeats)
    print(f"  the same draws by numpy      {t_np:8.2f} s  (CPU {_CPU[-1]:.2f} s: Generator.integers, the same values)")
    draws = next(resample_draws(n, naive, 1))
    t_loop = _median_time(lambda: [roc_auc_score(y[row], s[row]) for row in draws], 1) * b / naive
    print(f"  naive sklearn loop           {t_loop:8.2f} s  (timed on {naive} resamples, x{b / naive:g}; "
          f"CPU {_CPU[-1] * b / naive:.2f} s)")
    same = all(r == results["old"] for r in results.values())
    fastest = min(times["numba"], times.get("cuda", times["numba"]))
    print(f"  same interval, all engines: {'yes' if same else 'NO'} {results['old']}")
    print(f"  new / old {times['old'] / times['numba']:.1f}x, compiled / numpy bins {times['numpy'] / times['numba']:.1f}x; "
          f"goal < 0.5 s: {'met' if fastest < 0.5 else 'NOT met'}")
    # The same bootstrap where real data differs: float32 scores (tied pairs) and 2 images per patient.
    f32 = s.astype(np.float32).astype(np.float64)
    for name, scores, groups in (("float32 scores (ties)", f32, clusters), ("2 images per patient", s, clusters // 2),
                                 ("both", f32, clusters // 2)):
        got: dict[str, tuple[float, float]] = {}
        for engine in ("numba", "old"):
            def variant(engine: str = engine, scores: np.ndarray = scores, groups: np.ndarray = groups) -> None:
                got[engine] = _auroc_bootstrap(scores, y, groups, engine)

            t = _median_time(variant, 1)
            print(f"  {name + ', ' + ('new' if engine == 'numba' else 'old'):28s} {t:8.2f} s  (1 run; CPU {_CPU[-1]:.2f} s)")
        print(f"  {'':28s} same interval: {'yes' if got['numba'] == got['old'] else 'NO'}")


def bench_subgroups(repeats: int) -> None:
    rng = np.random.default_rng(1)
    n, k = 1_000_000, 40
    group = rng.integers(0, k, n)
    y = (rng.random(n) < 0.3).astype(np.int64)
    s = 1 / (1 + np.exp(-(rng.normal(size=n) + 1.2 * y - 0.6 + 0.01 * group)))
    cases = LabelCases(y, s, np.arange(n, dtype=np.int64))
    boot = CISpec(CIMethod.BOOTSTRAP_PERCENTILE, 0.95, 2000, 3)
    spec = Subgroups(label="x", threshold=0.5, metrics=(Metric.AUROC, Metric.SENSITIVITY, Metric.SPECIFICITY),
                     ci=boot, attributes=(AttributeSpec("group"),), min_size=30, min_positives=10,
                     ci_by_metric={Metric.AUROC: CISpec(CIMethod.DELONG)})
    attrs = {"group": [f"g{g:02d}" for g in group]}

    def ours() -> object:
        return analyse(spec, cases, attrs, Multiplicity.BONFERRONI, {})

    calls = (s >= 0.5).astype(np.int64)
    col = np.array(attrs["group"])

    def fairlearn_alone() -> object:
        auc = MetricFrame(metrics={"auroc": roc_auc_score}, y_true=y, y_pred=s, sensitive_features=col)
        rates = MetricFrame(metrics={"sensitivity": recall_score,
                                     "specificity": lambda t, p: recall_score(t, p, pos_label=0)},
                            y_true=y, y_pred=calls, sensitive_features=col)
        return auc.by_group, rates.by_group

    def masks() -> list[tuple[str, list[tuple[float, float, float]]]]:
        """The straightforward way: a mask per group on the strings, the same `interval` calls (levels as analyse's)."""
        cis = {m: CISpec(c.method, 1 - (1 - c.level) / (k * 3), c.resamples, c.seed)
               for m, c in ((m, spec.ci_for(m)) for m in spec.metrics)}
        out = []
        for g in np.unique(col):
            sub = cases.subset(np.flatnonzero(col == g))
            out.append((str(g), [(iv.estimate, iv.lower, iv.upper) for iv in
                                 (interval(m, [sub], 0.5, cis[m]) for m in spec.metrics)]))
        return out

    t_ours = _median_time(ours, repeats)
    cpu_ours = _CPU[-1]
    t_masks = _median_time(masks, repeats)
    t_fl = _median_time(fairlearn_alone, repeats)
    rows = analyse(spec, cases, attrs, Multiplicity.BONFERRONI, {})[0]
    same = [(r.group, [(v["estimate"], v["lower"], v["upper"]) for v in r.values.values()]) for r in rows] == masks()
    print(f"subgroup analysis, {n:,} cases, {k} subgroups, AUROC (DeLong) + sens/spec (bootstrap 2,000)")
    print(f"  qmskit (MetricFrame + intervals) {t_ours:8.2f} s  (median of {repeats}; CPU {cpu_ours:.2f} s)")
    print(f"  a mask per group (reference)     {t_masks:8.2f} s  (CPU {_CPU[-2]:.2f} s); same values: "
          f"{'yes' if same else 'NO'}")
    print(f"  fairlearn MetricFrame alone      {t_fl:8.2f} s  (point values only; CPU {_CPU[-1]:.2f} s)")
    print(f"  ratio ours / MetricFrame         {t_ours / t_fl:8.2f}; goal < 1 s: CPU {'met' if cpu_ours < 1 else 'NOT met'}"
          f", wall {'met' if t_ours < 1 else 'NOT met'} (load average {os.getloadavg()[0]:.1f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--naive", type=int, default=100, help="resamples the naive loop is timed on")
    args = parser.parse_args()
    try:
        import torch

        gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    except ImportError:
        gpu = "none"
    print(f"machine: {os.cpu_count()} CPU cores, load average {os.getloadavg()[0]:.1f}; GPU: {gpu}")
    bench_bootstrap(args.repeats, args.naive)
    bench_subgroups(args.repeats)
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
