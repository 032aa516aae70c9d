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
assert report.evaluations[0].top1 >= 0 && report.evaluations[0].top1 <= 1
true
