# Synthetic raw studies (T1, T2, FLAIR; oblique slices, shuffled file names) with synthetic PHI,
# and data/raw/labels.csv keyed by each study's index path. MRI_PATIENTS makes a smaller run (CI).
python generate.py --out data/raw --patients "${MRI_PATIENTS:-60}" --seed 20261206
echo "OUTPUT: raw synthetic studies (with synthetic PHI): $PWD/data/raw"
