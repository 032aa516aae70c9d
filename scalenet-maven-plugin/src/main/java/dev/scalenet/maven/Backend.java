package dev.scalenet.maven;

import org.apache.maven.plugin.MojoFailureException;

import java.util.Locale;

/** Which ND4J backend the user asks for (the {@code backend} parameter). */
enum Backend {
    /** ND4J's own choice: CUDA when its backend is a plugin dependency and a GPU is usable, else CPU. */
    AUTO,
    /** The CPU backend ({@code nd4j-native}), even when CUDA would work. */
    CPU,
    /** The CUDA backend; without a usable GPU, CPU with a warning, or a failure when {@code requireGpu} is set. */
    CUDA;

    static Backend parse(String value) throws MojoFailureException {
        for (Backend b : values()) {
            if (b.name().equalsIgnoreCase(value.trim())) return b;
        }
        throw Parameters.invalid("backend", value, "auto, cpu or cuda");
    }

    String spelling() {
        return name().toLowerCase(Locale.ROOT);
    }
}
