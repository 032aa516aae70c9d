// Starts this IT's build in a child Maven (same settings, repository and properties as the invoker's builds) and
// SIGKILLs it as soon as its fine-tune has written a checkpoint: a build killed mid-training, as by a CI timeout
// or the OOM killer. The operating system kills the JVM outright: no shutdown hooks, no finally blocks.
import java.util.concurrent.TimeUnit

File checkpoint = new File(basedir, 'target/scalenet/kill-resume.run/checkpoint.zip')
File childLog = new File(basedir, 'killed-build.log')
String mvn = new File(System.getProperty('maven.home'), 'bin/mvn').path
List<String> command = [mvn, '-B', '-f', new File(basedir, 'pom.xml').path,
                        "-Dmaven.repo.local=${localRepositoryPath}".toString(),
                        "-Dit.plugin.version=${itPluginVersion}".toString(),
                        "-Dit.fixtures=${itFixtures}".toString(),
                        "-Dit.data=${itData}".toString(), 'package']
File settings = new File(basedir.parentFile, 'interpolated-settings.xml') // written by the invoker
if (settings.isFile()) command.addAll(1, ['-s', settings.path])
// offline: invoker:install has put the plugin and all it needs into the IT repository, and a pom-packaging
// build needs no other plugin up to package
command.add(1, '-o')
ProcessBuilder pb = new ProcessBuilder(command).directory(basedir).redirectErrorStream(true).redirectOutput(childLog)
pb.environment().put('MAVEN_OPTS', '-Xmx2g -Dorg.bytedeco.javacpp.maxbytes=4G')
Process child = pb.start()
long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(300)
while (!checkpoint.isFile() && child.isAlive() && System.nanoTime() < deadline) Thread.sleep(5)
// mvn execs java, so the child is the build's JVM; kill any descendants too
child.toHandle().descendants().each { it.destroyForcibly() }
child.destroyForcibly()
child.waitFor(60, TimeUnit.SECONDS)
assert checkpoint.isFile() : "the child build wrote no checkpoint before it ended or timed out; its log:\n${childLog.text}"
assert !childLog.text.contains('BUILD SUCCESS') : "the child build finished before it could be killed; its log:\n${childLog.text}"
println "killed the child build (exit ${child.exitValue()}) after it wrote ${checkpoint}"
true
