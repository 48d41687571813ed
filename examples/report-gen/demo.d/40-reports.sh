# Generated reports for the sequestered test images (base and adapter re-checked by hash at load,
# greedy decoding as the card states), joined with the references as the text predictions.
qms model generate report-gen-site-b@1.0.0 --manifest data/manifests/test.json --data data/deid --out data/generated.csv
python predictions.py data/generated.csv data/raw/reports.csv data/manifests/test.json data/text-predictions.csv
cp data/text-predictions.csv "$DEMO_OUT/"
echo "OUTPUT: text predictions (CSV): $DEMO_OUT/text-predictions.csv"
