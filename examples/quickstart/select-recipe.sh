#!/usr/bin/env bash
# How the main job's recipe was chosen: each candidate fine-tunes the grown bundled model on Fashion-MNIST's
# training set minus 5,000 images, which are its held-out set instead of the test set (the test set takes no
# part in the choice). Needs python3 with numpy and `mvn -B -q install -DskipTests` at the repository root.
# Writes target/selection/results.txt. About a minute per 100-step candidate and two per epoch on 2 cores (about 25 minutes in all).
set -euo pipefail
cd "$(dirname "$0")"
out=target/selection
mkdir -p "$out"
python3 - "$out/data" <<'PY'
import gzip, os, shutil, sys
import numpy as np
src, dst = '../../data/fashion-mnist', sys.argv[1]
read = lambda n: gzip.open(os.path.join(src, n)).read()
img, lab = read('train-images-idx3-ubyte.gz'), read('train-labels-idx1-ubyte.gz')
x = np.frombuffer(img, np.uint8, offset=16).reshape(-1, 784)
y = np.frombuffer(lab, np.uint8, offset=8)
perm = np.random.default_rng(0).permutation(len(y))
os.makedirs(dst, exist_ok=True)
for prefix, idx in (('train', np.sort(perm[5000:])), ('t10k', np.sort(perm[:5000]))):  # t10k: the split evaluated on
    with gzip.open(f'{dst}/{prefix}-images-idx3-ubyte.gz', 'wb') as f:
        f.write(img[:4] + len(idx).to_bytes(4, 'big') + img[8:16] + x[idx].tobytes())
    with gzip.open(f'{dst}/{prefix}-labels-idx1-ubyte.gz', 'wb') as f:
        f.write(lab[:4] + len(idx).to_bytes(4, 'big') + y[idx].tobytes())
shutil.copy(f'{src}/classes.txt', dst)
PY
: > "$out/results.txt"
# functionPreserving trainable learningRate trainLimit emaDecay epochs
while read -r fp trainable lr limit ema epochs; do
  log="$out/$fp-$trainable-$lr-$limit-$ema-$epochs.log"
  mvn -B -f pom.xml package -Dquickstart.data="$PWD/$out/data" -Dquickstart.functionPreserving="$fp" \
      -Dquickstart.trainable="$trainable" -Dquickstart.learningRate="$lr" -Dquickstart.trainLimit="$limit" \
      -Dquickstart.emaDecay="$ema" -Dquickstart.epochs="$epochs" -Dscalenet.outputDirectory="$PWD/$out/run" > "$log" 2>&1
  echo "functionPreserving=$fp trainable=$trainable lr=$lr images=$limit ema=$ema epochs=$epochs: $(grep -E 'base model  |fine-tuned' "$log" \
      | sed 's/.*held-out top-1 //' | tr '\n' ' ')" | tee -a "$out/results.txt"
done <<'CANDIDATES'
false all 5e-4 12800 0 1
true all 5e-4 12800 0 1
true all 1e-4 12800 0 1
true adjustments 1e-4 12800 0 1
true adjustments 5e-4 12800 0 1
true adjustments 1e-3 12800 0 1
true adjustments 5e-4 12800 0.99 1
true adjustments 5e-4 38400 0 1
true adjustments 1e-3 38400 0 1
true adjustments 1e-3 0 0 1
true all 3e-4 0 0 1
true all 1e-4 0 0 1
true all 5e-5 0 0 1
true all 3e-5 0 0 1
true all 2e-5 0 0 1
true all 5e-5 0 0 2
CANDIDATES
