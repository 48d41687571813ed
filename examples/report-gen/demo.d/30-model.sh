# The base generator trained here from its recipe (tokenizer built from the training reports), registered;
# then a LoRA adapter fine-tuned on one site's images, registered as its own version over the base.
python train.py base model/train.yaml data/manifests/train.json data/deid data/raw/reports.csv models/report-gen-1.0.0
qms model register models/report-gen-1.0.0 --name report-gen --version 1.0.0
python train.py adapter model/train.yaml data/manifests/train.json data/deid data/raw/reports.csv \
  models/report-gen-site-b-1.0.0 models/report-gen-1.0.0
qms model register models/report-gen-site-b-1.0.0 --name report-gen-site-b --version 1.0.0 --parent report-gen@1.0.0
qms model lineage report-gen-site-b@1.0.0
qms model lineage report-gen-site-b@1.0.0 --json > "$DEMO_OUT/lineage.json"
echo "OUTPUT: lineage (JSON): $DEMO_OUT/lineage.json"
