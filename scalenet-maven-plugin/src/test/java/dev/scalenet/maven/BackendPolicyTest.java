package dev.scalenet.maven;

import org.apache.maven.plugin.MojoFailureException;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.util.EnumSet;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BackendPolicyTest {
    private static final String CPU_CLASS = "org.nd4j.linalg.cpu.nativecpu.CpuBackend";
    private static final String CUDA_CLASS = "org.nd4j.linalg.jcublas.JCublasBackend";
    private static final BackendCandidate CPU = BackendCandidate.available(CPU_CLASS);
    private static final BackendCandidate GPU = BackendCandidate.available(CUDA_CLASS);
    private static final BackendCandidate NO_GPU = BackendCandidate.unavailable(CUDA_CLASS, "RuntimeException: No CUDA devices were found in system");

    @Test
    @DisplayName("backends are told apart by ND4J's package names")
    void kinds() {
        assertEquals(BackendCandidate.Kind.CPU, CPU.kind());
        assertEquals(BackendCandidate.Kind.CUDA, GPU.kind());
        assertEquals(BackendCandidate.Kind.OTHER, BackendCandidate.kindOf("org.nd4j.linalg.aurora.AuroraBackend"));
    }

    @Test
    @DisplayName("auto: CUDA when usable, else the CPU; silent when CUDA was never added")
    void auto() throws Exception {
        assertEquals(GPU, BackendPolicy.choose(Backend.AUTO, false, List.of(CPU, GPU)).backend());
        BackendPolicy.Decision cpuOnly = BackendPolicy.choose(Backend.AUTO, false, List.of(CPU));
        assertEquals(CPU, cpuOnly.backend());
        assertEquals(List.of(), cpuOnly.warnings());
    }

    @Test
    @DisplayName("auto with the CUDA backend added but no GPU: the CPU, with a warning saying why")
    void autoFallback() throws Exception {
        BackendPolicy.Decision d = BackendPolicy.choose(Backend.AUTO, false, List.of(CPU, NO_GPU));
        assertEquals(CPU, d.backend());
        assertEquals(1, d.warnings().size());
        assertTrue(d.warnings().get(0).contains("No CUDA devices were found in system"), d.warnings().get(0));
    }

    @Test
    @DisplayName("cuda without the CUDA backend on the class path: the CPU, and the warning shows the dependency to add")
    void cudaNotAdded() throws Exception {
        BackendPolicy.Decision d = BackendPolicy.choose(Backend.CUDA, false, List.of(CPU));
        assertEquals(CPU, d.backend());
        assertTrue(d.warnings().get(0).contains("<artifactId>nd4j-cuda-11.6</artifactId>"), d.warnings().get(0));
    }

    @Test
    @DisplayName("requireGpu turns every fallback into a failure naming the parameter and the reason")
    void requireGpu() throws Exception {
        MojoFailureException noDevice = assertThrows(MojoFailureException.class,
                () -> BackendPolicy.choose(Backend.CUDA, true, List.of(CPU, NO_GPU)));
        assertTrue(noDevice.getMessage().contains("<requireGpu> (-Dscalenet.requireGpu) is true"), noDevice.getMessage());
        assertTrue(noDevice.getMessage().contains("No CUDA devices were found in system"), noDevice.getMessage());
        MojoFailureException notAdded = assertThrows(MojoFailureException.class,
                () -> BackendPolicy.choose(Backend.AUTO, true, List.of(CPU)));
        assertTrue(notAdded.getMessage().contains("nd4j-cuda-11.6"), notAdded.getMessage());
        assertEquals(GPU, BackendPolicy.choose(Backend.CUDA, true, List.of(CPU, GPU)).backend());
    }

    @Test
    @DisplayName("cpu: the CPU even when a GPU is usable, and CUDA is not even probed")
    void cpu() throws Exception {
        BackendPolicy.Decision d = BackendPolicy.choose(Backend.CPU, false, List.of(CPU, GPU));
        assertEquals(CPU, d.backend());
        assertEquals(List.of(), d.warnings());
        assertEquals(EnumSet.of(BackendCandidate.Kind.CPU), BackendPolicy.kindsToProbe(Backend.CPU));
        assertTrue(BackendPolicy.kindsToProbe(Backend.AUTO).contains(BackendCandidate.Kind.CUDA));
    }

    @Test
    @DisplayName("contradictions and missing CPU backend fail clearly")
    void failures() {
        MojoFailureException contradiction = assertThrows(MojoFailureException.class,
                () -> BackendPolicy.choose(Backend.CPU, true, List.of(CPU)));
        assertTrue(contradiction.getMessage().startsWith("Invalid <requireGpu> (-Dscalenet.requireGpu) = true"), contradiction.getMessage());
        MojoFailureException none = assertThrows(MojoFailureException.class,
                () -> BackendPolicy.choose(Backend.AUTO, false, List.of(NO_GPU)));
        assertTrue(none.getMessage().contains("org.nd4j:nd4j-native"), none.getMessage());
    }

    @Test
    @DisplayName("the backend parameter: auto, cpu or cuda in any case; anything else names the parameter")
    void parse() throws Exception {
        assertEquals(Backend.CUDA, Backend.parse("CUDA"));
        assertEquals(Backend.CPU, Backend.parse(" cpu "));
        MojoFailureException e = assertThrows(MojoFailureException.class, () -> Backend.parse("gpu"));
        assertTrue(e.getMessage().startsWith("Invalid <backend> (-Dscalenet.backend) = gpu: expected auto, cpu or cuda"), e.getMessage());
    }
}
