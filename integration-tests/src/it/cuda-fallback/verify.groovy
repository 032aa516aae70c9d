def npy = evaluate(new File(itLib, 'Npy.groovy'))
String log = new File(basedir, 'build.log').text

// 1. fallback: one warning naming the CUDA backend and why it cannot run, then the CPU backend
assert log =~ /\[WARNING\] CUDA requested \(<backend> \(-Dscalenet.backend\) = cuda\) but not usable, falling back to the CPU backend: the CUDA backend org.nd4j.linalg.jcublas.JCublasBackend cannot run here: \w+Error: /
assert log.contains('ND4J backend: org.nd4j.linalg.cpu.nativecpu.CpuBackend (<backend> (-Dscalenet.backend) = cuda)')
// 2. required: a clear error
assert log.contains('No usable GPU, and <requireGpu> (-Dscalenet.requireGpu) is true: the CUDA backend org.nd4j.linalg.jcublas.JCublasBackend cannot run here')
assert log.count('BUILD FAILURE') == 1
// 3. cpu: no CUDA probe, so no second warning
assert log.count('CUDA requested') == 1
assert log.contains('ND4J backend: org.nd4j.linalg.cpu.nativecpu.CpuBackend (<backend> (-Dscalenet.backend) = cpu)')

// and the CPU fallback computed the right logits
double err = npy.maxAbsDiff(npy.readNpy(new File(basedir, 'target/logits.npy')), npy.readNpy(new File(itFixtures, 'vit-micro-p7-d4.logits.npy')))
assert err < 1e-4 : "max |logit - timm| = $err"
true
