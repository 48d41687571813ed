# Train and sequestered test manifests over the de-identified images.
mkdir -p data/manifests
qms dataset create data/deid --labels data/raw/labels.csv --split train --name report-gen-train --out data/manifests/train.json
qms dataset create data/deid --labels data/raw/labels.csv --split test --name report-gen-test --out data/manifests/test.json
