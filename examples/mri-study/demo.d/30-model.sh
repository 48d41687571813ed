# Train the small 3-D CNN from its recipe on the TRAIN manifest, register it with its card, and
# show the card's study grid and precision limits through the registry.
python train.py model/train.yaml data/manifests/train.json data/deid models/mri-study-cnn-1.0.0
qms model register models/mri-study-cnn-1.0.0 --name mri-study-cnn --version 1.0.0
qms model stage mri-study-cnn@1.0.0 staging --reason "release candidate 1.0.0"
qms model show mri-study-cnn@1.0.0 --json > "$DEMO_OUT/model.json"
python -c 'import json, sys; c = json.load(open(sys.argv[1]))["card"]; print("study:", c["study"], "precision limits:", c["precision_limits"])' "$DEMO_OUT/model.json"
echo "OUTPUT: model version (JSON): $DEMO_OUT/model.json"
