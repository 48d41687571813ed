# Index each de-identified study (every slice's sha256 in study.json) and write the train and
# sequestered test manifests, one entry per study.
python studies.py data/deid data/raw/labels.csv data/manifests
qms dataset show data/manifests/test.json
echo "OUTPUT: test manifest (sequestered): $PWD/data/manifests/test.json"
