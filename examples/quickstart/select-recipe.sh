#!/usr/bin/env bash
# How the main job's recipe was chosen: each candidate fine-tunes the grown bundled model, and its control (the base
# fine-tuned the same way), on Fashion-MNIST's training set minus 5,000 images, which are its held-out set instead of
# the test set (the test set takes no part in the choice). The 5,000 are `scalenet split`'s carve, the experiment's:
# the bundled base was trained on the other 55,000 and never saw them. Needs `mvn -B -q install -DskipTests` at the
# repository root. Writes target/selection/results.txt; about a minute per one-epoch candidate on 2 cores.
set -euo pipefail
cd "$(dirname "$0")"
out=target/selection
mkdir -p "$out"
[ -d "$out/data" ] || java -jar ../../scalenet-cli/target/scalenet-cli-0.1.0-SNAPSHOT.jar split \
    --data ../../data/fashion-mnist --validationSize 5000 --out "$out/data"
: > "$out/results.txt"
# functionPreserving trainable learningRate trainLimit emaDecay epochs
while read -r fp trainable lr limit ema epochs; do
  log="$out/$fp-$trainable-$lr-$limit-$ema-$epochs.log"
  mvn -B -f pom.xml package -Dquickstart.data="$PWD/$out/data" -Dquickstart.functionPreserving="$fp" \
      -Dquickstart.trainable="$trainable" -Dquickstart.learningRate="$lr" -Dquickstart.trainLimit="$limit" \
      -Dquickstart.emaDecay="$ema" -Dquickstart.epochs="$epochs" -Dquickstart.evalsPerEpoch=1 \
      -Dscalenet.outputDirectory="$PWD/$out/run" > "$log" 2>&1
  # base, grown, control, then grown minus control
  echo "functionPreserving=$fp trainable=$trainable lr=$lr images=$limit ema=$ema epochs=$epochs: $(grep -E '^\[INFO\] (base model|fine-tuned|control) .*held-out top-1' "$log" \
      | sed 's/.*held-out top-1 \([0-9.]*%\).*/\1/' | tr '\n' ' ')$(grep -E 'grown vs control' "$log" | sed 's/.*control  [^:]*: \([^,]*\),.*/(\1)/')" \
      | tee -a "$out/results.txt"
done <<'CANDIDATES'
false all 5e-4 12800 0 1
false all 1e-4 0 0 1
true all 5e-4 12800 0 1
true all 1e-4 12800 0 1
true adjustments 1e-3 12800 0 1
true adjustments 1e-3 0 0 1
true all 3e-4 0 0 1
true all 1e-4 0 0 1
true all 5e-5 0 0 1
true all 2e-5 0 0 1
CANDIDATES
