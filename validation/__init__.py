"""Validation: dataset manifests, locked protocols, statistics with intervals, bias, verdicts.

The public modules, each one concept:

- `qms.validation.manifest`: `DatasetManifest` (per-file sha256, pseudonymous patient and
  study ids, labels, subgroup attributes, split, canonical hash; `from_file`, `verify_files`);
- `qms.validation.dataset`: `create_manifest(deid_dir, labels_csv, split=..., name=...)`;
- `qms.validation.protocol`: `Protocol` and its parts (`criteria`: endpoints, subgroups, bias criteria);
  `qms.validation.protocolparser.read_protocol` reads one (YAML, errors at file:line), each section
  through `qms.validation.protocolreader.ProtocolReader`;
- `qms.validation.lock`: `lock`, `find_lock`, `check_run_inputs`, `record_dataset`;
- `qms.validation.inputs`: `inputs_for` (what a protocol names, resolved and checked), `registry_identity`;
- `qms.validation.run`: `run_protocol`, `model_predictor`, `generates_text`, `show`, `runs`;
  a registered report generator's run reads its predictions from the reports it wrote
  (`textcalls`) and is judged by `report_evaluation`, never scored on images;
- `qms.validation.records`: `DatasetRecord`, `ProtocolLock`, `ValidationRun` (append-only);
- `qms.validation.metrics`, `intervals`, `auroc`: endpoints and their intervals
  (DeLong/Obuchowski, Wilson, Clopper-Pearson, cluster bootstrap percentile/BCa);
- `qms.validation.subgroups`, `independence`, `analysis`, `plots`;
- `qms.validation.neardup` (near-duplicate images against training), `samplesize` (power
  for the lower-bound criterion), `readers` (reference standard, inter-reader kappa),
  `latency` (time-to-notification, measured per batch);
- the report's evidence: `cohort` (data sources, sites, exclusion flow), `acquisition`
  (equipment, views, pixel spacing), `failures` (FN/FP case review), `robustness`
  (primary endpoints per acquisition stratum), `repeatability` (a second inference on a
  seeded subset), `limitations` (proposed labeling limitations, conclusion, deviations);
- the bias report's: `calibration` (per group), `interpretation` (confounding, labeling
  limitations of flagged groups), `monitoring` (the post-market plan).

For the release gate: a protocol passes for a model version when a `ValidationRun` of its
`ProtocolLock` has `verdict == "pass"` and `model_sha256` equal to the version's digest;
`result` (canonical JSON) holds endpoints, subgroups, bias, independence and reasons.

Metrics come from scikit-learn, not Hugging Face `evaluate` (which fetches its metric
modules from the Hub at run time). Nothing is imported here, so `import qms.validation`
stays light.
"""
