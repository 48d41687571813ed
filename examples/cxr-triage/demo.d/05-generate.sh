# Generate the synthetic raw dataset: CXR-like DICOM (DX/CR, MONOCHROME1 and 2, some RLE-compressed,
# some with burned-in text) carrying seeded synthetic PHI, and data/raw/labels.csv keyed by path.
python generate.py --out data/raw --patients 320 --seed 20261201
echo "OUTPUT: raw synthetic DICOM (with synthetic PHI): $PWD/data/raw"
echo "OUTPUT: labels table: $PWD/data/raw/labels.csv"
