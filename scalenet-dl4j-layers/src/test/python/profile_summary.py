"""Summarises an async-profiler CPU profile in collapsed-stack form ("frame;frame;... samples" per line):
the share of samples per kind of work, then the hottest leaf frames. Used for the benchmarks page.
With async-profiler's `threads` option (first frame "[name tid=N]"), also the share of each thread.

    python3 profile_summary.py profile.collapsed [top]
"""
import collections
import re
import sys


def kind(frames):
    """The kind of work a sample is in, judged from its innermost frames."""
    inner = ';'.join(frames[-4:])
    if re.search(r'libgomp|GOMP_|sched_yield|__schedule|futex|blas_thread_server|exec_blas', inner):
        return 'thread sync/spin (OpenMP, OpenBLAS wake-ups, yields)'
    if re.search(r'gemm', frames[-1]):
        return 'GEMM kernels + packing'
    stack = ';'.join(frames)
    if re.search(r'Interpreter|C2Compiler|C1|CompileBroker|Compilation', stack):
        return 'JIT/interpreter'
    if 'GC' in stack or 'G1' in stack:
        return 'GC'
    if re.search(r'dev/scalenet/layers/Host(Attention|Gelu|LayerNorm|Residual|Relu|Patches|Math|FeatureMajor)\.', ';'.join(frames[-3:])):
        return 'host kernels (Java: attention, GELU, LayerNorm, residual, ReLU, patch embedding)'
    if re.search(r'libnd4j|nd4j::|sd::|functions::', stack):
        return 'libnd4j ops (element-wise, reductions, softmax, ...)'
    return 'other (Java-side DL4J/ND4J, JNI, allocation, other threads)'


def main():
    total = 0
    leaves = collections.Counter()
    kinds = collections.Counter()
    threads = collections.Counter()
    with open(sys.argv[1]) as f:
        for line in f:
            stack, _, count = line.rstrip().rpartition(' ')
            frames = stack.split(';')
            n = int(count)
            total += n
            leaves[frames[-1][:120]] += n
            kinds[kind(frames)] += n
            if frames[0].startswith('['):
                threads[re.sub(r' tid=\d+', '', frames[0])] += n
    print('total samples', total)
    for k, v in kinds.most_common():
        print(f'{100 * v / total:5.1f}%  {k}')
    if threads:
        print('--- threads')
        for k, v in threads.most_common(8):
            print(f'{100 * v / total:5.1f}%  {k}')
    print('--- hottest leaf frames')
    for k, v in leaves.most_common(int(sys.argv[2]) if len(sys.argv) > 2 else 25):
        print(f'{100 * v / total:5.1f}%  {k}')


if __name__ == '__main__':
    main()
