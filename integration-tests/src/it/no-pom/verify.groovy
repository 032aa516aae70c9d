def npy = evaluate(new File(itLib, 'Npy.groovy'))
assert !new File(basedir, 'pom.xml').exists()
def expected = npy.readNpy(new File(itFixtures, 'vit-micro-p7-d4.logits.npy'))
['logits.npy', 'logits-exported.npy'].each {
    double err = npy.maxAbsDiff(npy.readNpy(new File(basedir, it)), expected)
    println "$it: max |logit - timm| = $err"
    assert err < 1e-4 : "$it: max |logit - timm| = $err"
}
assert new File(basedir, 'exported/micro.json').text.contains('"num_heads"')
// the fixture model is 32 wide: one 32-vector per image (their agreement with the logits is FeaturesTest's)
def preLogits = npy.readNpy(new File(basedir, 'prelogits.npy'))
assert preLogits.shape == [expected.shape[0], 32L] : "pre-logits shape ${preLogits.shape}"
true
