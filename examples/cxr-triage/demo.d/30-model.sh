# Train the example model on the de-identified TRAIN manifest (its hash goes into the lineage),
# register it with its card and lineage, and move it to staging for the release gate.
mkdir -p "$DEMO_OUT/model"
# The dataset step (20-dataset.sh) writes data/manifests/train.json over data/deid (protocols/ name them).
manifest=data/manifests/train.json
data_root=data/deid
[ -d "$data_root" ] || data_root=data/raw
if [ ! -f "$manifest" ]; then
  # No dataset step ran before this one: build the train manifest with the validation library itself.
  manifest="$DEMO_OUT/model/train-manifest.json"
  # The labels table is keyed by the path relative to data/raw, which data/deid mirrors.
  python - "$data_root" data/raw/labels.csv "$manifest" <<'PY'
import sys
from pathlib import Path
from qms.atomic import write_text
from qms.validation.dataset import create_manifest
root, labels, out = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
write_text(out, create_manifest(root, labels, split="train", name="cxr-triage-train").dumps())
PY
fi
echo "training on $manifest (files under $data_root)"
qms model train model/train.yaml --manifest "$manifest" --data "$data_root" --out models/cxr-triage-vit-1.0.0
qms model register models/cxr-triage-vit-1.0.0 --name cxr-triage-vit --version 1.0.0
qms model stage cxr-triage-vit@1.0.0 staging --reason "release candidate 1.0.0"
qms model show cxr-triage-vit@1.0.0
qms model show cxr-triage-vit@1.0.0 --json > "$DEMO_OUT/model/cxr-triage-vit-1.0.0.json"
echo "OUTPUT: model folder: $PWD/models/cxr-triage-vit-1.0.0"
echo "OUTPUT: model card: $PWD/models/cxr-triage-vit-1.0.0/model_card.yaml"
echo "OUTPUT: model version (JSON): $DEMO_OUT/model/cxr-triage-vit-1.0.0.json"
