# Synthetic chest radiographs with synthetic PHI, labels.csv and the reference reports (reports.csv).
# RG_PATIENTS makes a smaller run (CI).
python generate.py --out data/raw --patients "${RG_PATIENTS:-90}" --seed 20261206
echo "OUTPUT: raw synthetic images (with synthetic PHI): $PWD/data/raw"
