String log = new File(basedir, 'build.log').text
def expect = { String what -> assert log.contains(what) : "build.log lacks: $what" }

expect "Invalid <depth> (-Dscalenet.depth) = 3: expected at least the base model's depth 4"
expect "Invalid <strategy> (-Dscalenet.strategy) = spiral: expected cyclic or interleave"
expect "Invalid <order> (-Dscalenet.order) = [0, 1, 2, 3, 0, 1, 2, 9]: expected source block indices 0..3 of the base model (order[7] = 9)"
expect "Invalid <baseModel> (-Dscalenet.baseModel) = ${new File(itFixtures, 'no-such-model.safetensors')}: expected an existing file (not found)"
expect "Invalid <evalData> (-Dscalenet.evalData) = "
expect "expected a dataset with 10 classes to match the model's head (it has 2: [shirt, shoe])"
assert log =~ /Invalid <evalData> \(-Dscalenet.evalData\) = \S+empty: no dataset found: looked for/
expect "Invalid <baseModel> (-Dscalenet.baseModel) = org.example.it:no-such-model:1.0:safetensors: expected coordinates of an artifact in the build's repositories"
// every message says how to fix it
assert log.count("Fix the <") >= 7

// seven failed builds, nothing written, nothing attached
assert log.count('BUILD FAILURE') == 7
assert !log.contains('Attached ')
File out = new File(basedir, 'target/scalenet')
// only the output lock's file may be there (a failure after the lock was taken): it is no output, and stays for
// the next build to lock (deleting a lock file would let two builds lock two different files)
def left = out.exists() ? out.list().findAll { it != '.scalenet.lock' } : []
assert left.isEmpty() : "left behind: $left"
true
