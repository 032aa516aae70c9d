package dev.scalenet.maven;

import org.apache.maven.plugin.MojoFailureException;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Chooses the ND4J backend from what the user asked for and what was found on the plugin's class path. Pure
 * logic, so every case is a unit test; {@link Nd4jBackends} does the probing and the loading.
 */
final class BackendPolicy {
    /** The dependency that adds CUDA, as the failure and warning messages show it. */
    static final String CUDA_SNIPPET = "<dependency><groupId>org.nd4j</groupId><artifactId>nd4j-cuda-11.6</artifactId>"
            + "<version>1.0.0-M2.1</version></dependency> in the scalenet plugin's <dependencies> (see the plugin's README section)";

    private BackendPolicy() {}

    /** The backend to load and the warnings to print about the choice. */
    record Decision(BackendCandidate backend, List<String> warnings) {}

    static Decision choose(Backend requested, boolean requireGpu, List<BackendCandidate> found) throws MojoFailureException {
        if (requireGpu && requested == Backend.CPU) {
            throw Parameters.invalid("requireGpu", true, "false with <backend>cpu</backend> (or set <backend> to cuda or auto)");
        }
        Optional<BackendCandidate> cpu = first(found, BackendCandidate.Kind.CPU);
        Optional<BackendCandidate> cuda = first(found, BackendCandidate.Kind.CUDA);
        List<String> warnings = new ArrayList<>();
        if (requested != Backend.CPU) {
            if (cuda.isPresent() && cuda.get().available()) return new Decision(cuda.get(), warnings);
            String missing = cuda.isPresent()
                    ? "the CUDA backend " + cuda.get().className() + " cannot run here: " + cuda.get().reason()
                    : "the CUDA backend (org.nd4j:nd4j-cuda-11.6) is not among the plugin's dependencies; add " + CUDA_SNIPPET;
            if (requireGpu) {
                throw new MojoFailureException("No usable GPU, and " + Parameters.describe("requireGpu") + " is true: " + missing
                        + ". Run on a machine with an NVIDIA GPU, driver and CUDA 11.6, or set <requireGpu>false</requireGpu> to fall back to the CPU.");
            }
            // asked for CUDA, or CUDA is on the class path under auto: either way the user expected a GPU
            if (requested == Backend.CUDA || cuda.isPresent()) {
                warnings.add("CUDA requested (" + Parameters.describe("backend") + " = " + requested.spelling()
                        + ") but not usable, falling back to the CPU backend: " + missing);
            }
        }
        if (cpu.isEmpty() || !cpu.get().available()) {
            throw new MojoFailureException("No usable ND4J backend: "
                    + cpu.map(c -> "the CPU backend cannot run here: " + c.reason())
                         .orElse("the CPU backend (org.nd4j:nd4j-native) is missing from the plugin's class path")
                    + (cuda.isPresent() ? "; " + cuda.get().className() + ": " + cuda.get().reason() : ""));
        }
        return new Decision(cpu.get(), warnings);
    }

    /** The backends worth probing: not CUDA when the CPU is asked for. */
    static java.util.Set<BackendCandidate.Kind> kindsToProbe(Backend requested) {
        return requested == Backend.CPU ? java.util.EnumSet.of(BackendCandidate.Kind.CPU) : java.util.EnumSet.allOf(BackendCandidate.Kind.class);
    }

    private static Optional<BackendCandidate> first(List<BackendCandidate> found, BackendCandidate.Kind kind) {
        return found.stream().filter(c -> c.kind() == kind).findFirst();
    }
}
