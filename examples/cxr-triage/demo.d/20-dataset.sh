# Dataset manifests over the de-identified images: the training split and the sequestered
# test split, each file's sha256, pseudonymous patient and study ids from the de-identified
# headers, labels from data/raw/labels.csv (keyed by the path that data/deid mirrors), and
# subgroup attributes (PatientSex, PatientAge, Manufacturer, ViewPosition, PixelSpacing, ... from the headers;
# site from the table); the images the table's exclusion column excludes are listed with their reasons.
if [ ! -d data/deid ]; then
  echo "data/deid is missing: validation runs on de-identified data only (the de-identification step makes it)" >&2
  exit 2
fi
mkdir -p data/manifests
qms dataset create data/deid --labels data/raw/labels.csv --split train --name cxr-triage-train \
  --out data/manifests/train.json
qms dataset create data/deid --labels data/raw/labels.csv --split test --name cxr-triage-test \
  --description "sequestered test split: patients disjoint from training" --out data/manifests/test.json
qms dataset show data/manifests/test.json
mkdir -p "$DEMO_OUT/datasets"
cp data/manifests/train.json data/manifests/test.json "$DEMO_OUT/datasets/"
echo "OUTPUT: training manifest: $DEMO_OUT/datasets/train.json"
echo "OUTPUT: test manifest (sequestered): $DEMO_OUT/datasets/test.json"
