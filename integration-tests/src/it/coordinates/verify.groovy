import groovy.json.JsonSlurper

def npy = evaluate(new File(itLib, 'Npy.groovy'))
String log = new File(basedir, 'build.log').text
File repo = localRepositoryPath

// 1. the fixture was published as a model artifact
assert new File(repo, 'org/example/it/models/vit-micro/1.0/vit-micro-1.0.safetensors').isFile()
assert new File(repo, 'org/example/it/models/vit-micro/1.0/vit-micro-1.0.json').isFile()

// 2. resolved by coordinates, with its sidecar; the expanded model installed and deployed
assert log.contains('Resolved <baseModel> (-Dscalenet.baseModel) org.example.it.models:vit-micro:1.0:safetensors to ')
assert log.contains('Resolved its sidecar org.example.it.models:vit-micro:1.0:json to ')
assert new File(repo, 'org/example/it/vit-micro-x8/1.0/vit-micro-x8-1.0-scalenet.zip').isFile()
File deployed = new File(basedir, 'target/deploy-repo/org/example/it/vit-micro-x8')
['1.0/vit-micro-x8-1.0-scalenet.zip', '1.0/vit-micro-x8-1.0-scalenet.zip.sha1', '1.0/vit-micro-x8-1.0.pom', 'maven-metadata.xml'].each {
    assert new File(deployed, it).isFile() : "not deployed: $it"
}
assert new File(deployed, 'maven-metadata.xml').text.contains('<version>1.0</version>')

// 3. the consumer got the same model back: timm's cyclic-8 logits, and an evaluation in its report
assert log.contains('Resolved <model> (-Dscalenet.model) org.example.it:vit-micro-x8:1.0:zip:scalenet to ')
double err = npy.maxAbsDiff(npy.readNpy(new File(basedir, 'consumer/target/logits.npy')),
        npy.readNpy(new File(itFixtures, 'vit-micro-p7-d4.expanded-cyclic-8.logits.npy')))
println "consumer: max |logit - timm| = $err"
assert err < 1e-4
def report = new JsonSlurper().parse(new File(basedir, 'consumer/target/scalenet/report.json'))
assert report.evaluations.size() == 1
assert report.evaluations[0].examples == 200
// its top-1 is the one counted here from the model's logits for the same 200 images (predict goal) and the labels.
// Logits within 1e-4 of each other (the parity tolerance) could swap between the goals' batchings: such images may
// count either way (none expected; their number is printed).
def expandedReport = new JsonSlurper().parse(new File(basedir, 'expanded/target/scalenet/report.json'))
assert expandedReport.base.pretrained_cfg.mean == [0.5] && expandedReport.base.pretrained_cfg.std == [0.5] : 'setup.groovy normalised with 0.5/0.5'
def logits = npy.readNpy(new File(basedir, 'consumer/target/eval-logits.npy'))
assert logits.shape == [200L, 10L]
byte[] labels = new java.util.zip.GZIPInputStream(new FileInputStream(new File(itData, 't10k-labels-idx1-ubyte.gz'))).bytes
int correct = 0, ambiguous = 0
for (int i = 0; i < 200; i++) {
    float[] row = Arrays.copyOfRange(logits.data, i * 10, i * 10 + 10)
    int best = (0..9).max { row[it] }
    float runnerUp = (0..9).findAll { it != best }.collect { row[it] }.max()
    if (row[best] - runnerUp < 1e-4) ambiguous++
    if (best == (labels[8 + i] & 0xff)) correct++
}
println "consumer: top-1 counted from logits ${correct}/200, evaluate goal ${report.evaluations[0].top1}, near-ties ${ambiguous}"
assert Math.abs(report.evaluations[0].top1 - correct / 200d) <= ambiguous / 200d + 1e-12

// the published report files name the base model by coordinates, file name and SHA-256, and hold no path of this
// machine: not the project, the repositories, the data or the home folder, nor any '/'-rooted path
assert expandedReport.base.coordinates == 'org.example.it.models:vit-micro:1.0:safetensors'
assert expandedReport.base.name == 'vit-micro-1.0.safetensors'
def expandedProps = new Properties(); new File(basedir, 'expanded/target/scalenet/model.properties').withInputStream { expandedProps.load(it) }
assert expandedProps['source.coordinates'] == 'org.example.it.models:vit-micro:1.0:safetensors'
assert report.evaluations[0].model.coordinates == 'org.example.it:vit-micro-x8:1.0:zip:scalenet'
assert report.evaluations[0].data.name == 'fashion-mnist'
def absolutePath = ~/(?<![<\w:\/.])\/[\w.-]+\/[\w.-]+/
['expanded', 'consumer'].each { project ->
    ['report.json', 'report.html', 'model.properties'].each { name ->
        String text = new File(basedir, "$project/target/scalenet/$name").text.replaceAll(/data:image\/png;base64,[A-Za-z0-9+\/=]+/, '')
        [basedir, localRepositoryPath, new File(itData), new File(itFixtures), new File(System.getProperty('user.home'))].each { File p ->
            assert !text.contains(p.canonicalPath) && !text.contains(p.absolutePath) : "$project/$name names $p"
        }
        def m = text =~ absolutePath
        assert !m.find() : "$project/$name holds an absolute path: ${m.group()}"
    }
}
true
