import java.util.zip.ZipFile

// Build 2 resumed the killed build's fine-tune from its checkpoint and ended with the same model as build 1, which
// ran uninterrupted: the same zip entries, each with the same bytes (parameters, configuration, metadata), and, as
// entries carry a fixed timestamp, the same zip file and model.sha256.
String log = new File(basedir, 'build.log').text
def resumed = log =~ /kill-resume: resuming from step (\d+) of (\d+)/
assert resumed.find() : 'the second build did not resume'
int from = resumed.group(1) as int
int total = resumed.group(2) as int
assert total == 60
assert from > 0 && from < total : "resumed at step $from of $total: not mid-training"
assert log.contains('kill-resume: resuming the fine-tuning from its checkpoint in ')
assert log.contains(': inputs and settings are unchanged (config.sha256 ')
println "resumed at step $from of $total"

Map entries(File f) {
    new ZipFile(f).withCloseable { zip -> zip.entries().toList().collectEntries { [(it.name): zip.getInputStream(it).bytes] } }
}
Map straight = entries(new File(basedir, 'target/straight/kill-resume.zip'))
Map afterKill = entries(new File(basedir, 'target/scalenet/kill-resume.zip'))
assert straight.keySet() == afterKill.keySet()
straight.each { name, bytes -> assert Arrays.equals(bytes, afterKill[name]) : "zip entry $name differs" }
println "same ${straight.size()} zip entries, byte for byte: ${straight.keySet()}"
assert Arrays.equals(new File(basedir, 'target/straight/kill-resume.zip').bytes, new File(basedir, 'target/scalenet/kill-resume.zip').bytes) :
        'the entries agree but the zip files do not'

def props = { File f -> def p = new Properties(); f.withInputStream { p.load(it) }; p }
def a = props(new File(basedir, 'target/straight/model.properties'))
def b = props(new File(basedir, 'target/scalenet/model.properties'))
assert a['config.sha256'] == b['config.sha256']
assert a['model.sha256'] == b['model.sha256']
assert a['final.top1'] == b['final.top1'] && a['final.loss'] == b['final.loss']
true
