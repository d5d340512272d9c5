#!/usr/bin/env bash
# Regenerates tests/data/bad/destinations/: --out destinations the `sentiment` program must
# refuse, each a folder as a user might leave it (see destinations/expected.tsv and
# ../README.md). Run from the project root: bash tests/data/bad/make_destinations.sh
# Needs only coreutils (sha256sum writes the manifests the way tapegrad does).
set -euo pipefail
good=tests/data/good/checkpoint
out=tests/data/bad/destinations
find "$out" -mindepth 1 -maxdepth 1 -type d -exec rm -rf {} +

# A checkpoint as tapegrad writes it: the good one plus its SHA256SUMS.
checkpoint() {
  mkdir -p "$1"
  cp "$good"/config.json "$good"/vocab.txt "$good"/weights.npz "$1"/
  (cd "$1" && sha256sum config.json vocab.txt weights.npz > SHA256SUMS)
}

checkpoint "$out/notes-beside-checkpoint"
printf 'my notes: lr 0.01 worked best\n' > "$out/notes-beside-checkpoint/notes.txt"

checkpoint "$out/runs-folder-beside-checkpoint"
mkdir -p "$out/runs-folder-beside-checkpoint/runs"
printf 'epoch 1: 0.61\n' > "$out/runs-folder-beside-checkpoint/runs/log.txt"

checkpoint "$out/report-beside-checkpoint"
printf '<!DOCTYPE html><title>my own report</title>\n' > "$out/report-beside-checkpoint/report.html"

mkdir -p "$out/look-alike-config"
printf '{"format": "tapegrad sentiment checkpoint", "note": "my settings, not a checkpoint"}\n' \
  > "$out/look-alike-config/config.json"

mkdir -p "$out/legacy-checkpoint"  # written before SHA256SUMS existed: no proof it is ours
cp "$good"/config.json "$good"/vocab.txt "$good"/weights.npz "$out/legacy-checkpoint/"

checkpoint "$out/edited-config"
sed -i 's/"recipe": "canonical"/"recipe": "my edit"/' "$out/edited-config/config.json"

checkpoint "$out/garbled-manifest"
printf 'these are not hashes\n' > "$out/garbled-manifest/SHA256SUMS"

checkpoint "$out/config-is-a-link"  # the link's target (outside the folder) is the user's
rm "$out/config-is-a-link/config.json"
ln -s ../my-settings.json "$out/config-is-a-link/config.json"

checkpoint "$out/compare-notes/last"
printf 'keep me\n' > "$out/compare-notes/last/notes.txt"

mkdir -p "$out/demo-own-csv"
printf 'airline_sentiment,text\r\nnegative,my own hand-labelled tweet\r\n' > "$out/demo-own-csv/train.csv"

mkdir -p "$out/demo-other-files"
printf 'keep me\n' > "$out/demo-other-files/notes.txt"

mkdir -p "$out/report-not-ours"
printf '<!DOCTYPE html><title>my own page</title>\n' > "$out/report-not-ours/report.html"

mkdir -p "$out/report-edited"  # a sealed report, then edited: no longer what tapegrad wrote
printf '<!DOCTYPE html><title>report</title>\n' > "$out/report-edited/report.html"
hash=$(sha256sum "$out/report-edited/report.html" | cut -d' ' -f1)
printf "<!-- written by tapegrad's sentiment report; SHA-256 of the lines above: %s -->\n" "$hash" \
  >> "$out/report-edited/report.html"
sed -i 's/<title>report/<title>report, with my notes/' "$out/report-edited/report.html"
