def npy = evaluate(new File(itLib, 'Npy.groovy'))
def fixtures = new File(itFixtures)
File log = new File(basedir, 'build.log')
String text = log.text

// expand wrote the model, report and properties
File out = new File(basedir, 'target/scalenet')
['expand-predict.zip', 'report.json', 'report.html', 'model.properties'].each {
    assert new File(out, it).isFile() : "missing target/scalenet/$it"
}
def props = new Properties(); new File(out, 'model.properties').withInputStream { props.load(it) }
assert props['expansion.plan'].startsWith('cyclic-8') : props

// the written model reproduces timm's 8-block model (cyclic copies, zero-initialised adapters)
def actual = npy.readNpy(new File(basedir, 'target/logits.npy'))
def expected = npy.readNpy(new File(fixtures, 'vit-micro-p7-d4.expanded-cyclic-8.logits.npy'))
double err = npy.maxAbsDiff(actual, expected)
println "max |logit - timm| = $err"
assert err < 1e-4 : "max |logit - timm| = $err"

// the library's progress (SLF4J) shows in Maven's log at INFO
assert text.contains('[INFO] base model ') : 'library log lines missing from the Maven output'
assert text.contains('ND4J backend: org.nd4j.linalg.cpu.nativecpu.CpuBackend')

// second invocation: skipped as up to date, says why, still attaches
assert text.count('Skipping the expansion') == 1 : 'the second build should skip, the first should not'
assert text =~ /Skipping the expansion: .*expand-predict\.zip is up to date\. Its model\.properties records config\.sha256 [0-9a-f]{64}/
assert text.count('Attached expand-predict.zip as org.example.it:expand-predict:zip:scalenet:1.0') == 2
true
