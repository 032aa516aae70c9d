import groovy.json.JsonSlurper

// The fixture's weights are timm's random initialisation (base: chance, about 10%). Measured on the 2-core CI
// machine with this recipe: 32.7% top-1 on these 300 held-out images after 60 steps (2026-11-25). The floor
// leaves room for other CPUs' float rounding and still proves learning: 2.5x chance.
double FLOOR = 0.25

File out = new File(basedir, 'target/scalenet')
def report = new JsonSlurper().parse(new File(out, 'report.json'))
double before = report.expansion.evalAtStart.top1
double after = report.training.final.top1
println "held-out top-1 (300 images): base ${report.base.eval.top1}, expanded before ${before}, after fine-tuning ${after}"
assert report.training.steps == 60 : '1500 images / batch 50 * 2 epochs'
assert report.training.final.examples == 300
assert after >= FLOOR : "top-1 after fine-tuning $after < floor $FLOOR"
assert after > before + 0.1

// the evaluate goal added its result for the same model and data: equal to the job's final evaluation
assert report.evaluations.size() == 1
assert Math.abs(report.evaluations[0].top1 - after) < 1e-9

assert new File(out, 'report.html').text.contains('data:image/png;base64,') : 'training curve missing'
def props = new Properties(); new File(out, 'model.properties').withInputStream { props.load(it) }
assert props['final.top1'] as double == after

// progress lines of the training loop appear in Maven's log
String log = new File(basedir, 'build.log').text
assert log =~ /\[INFO\] fine-tune: epoch .* loss /
true
