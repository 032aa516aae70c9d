package dev.scalenet.maven;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.scalenet.InvalidSettingException;
import dev.scalenet.data.DatasetException;
import dev.scalenet.train.TrainConfig;
import dev.scalenet.vit.VitConfig;
import dev.scalenet.vit.VitModel;
import org.apache.maven.execution.MavenSession;
import org.apache.maven.plugin.AbstractMojo;
import org.apache.maven.plugin.MojoExecution;
import org.apache.maven.plugin.MojoExecutionException;
import org.apache.maven.plugin.MojoFailureException;
import org.apache.maven.plugins.annotations.Parameter;
import org.apache.maven.project.MavenProject;
import org.eclipse.aether.RepositorySystem;

import java.io.IOException;
import java.lang.reflect.Field;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * What every scalenet goal shares: {@code skip}, the ND4J backend choice, finding a model (file or coordinates)
 * and its architecture ({@code modelConfig} or {@code preset}), and turning the library's exceptions into Maven's:
 * a bad setting is a {@link MojoFailureException} naming the parameter, I/O and ND4J trouble a
 * {@link MojoExecutionException} with its cause.
 */
abstract class AbstractScaleNetMojo extends AbstractMojo {
    /** Skip this goal. */
    @Parameter(property = "scalenet.skip", defaultValue = "false")
    boolean skip;

    /**
     * The ND4J backend: {@code auto} (CUDA when the CUDA backend is among the plugin's dependencies and a GPU is
     * usable, else CPU), {@code cpu}, or {@code cuda} (CUDA; without a usable GPU, the CPU with a warning unless
     * {@code requireGpu}). ND4J loads one backend per build: the first scalenet goal to run decides.
     */
    @Parameter(property = "scalenet.backend", defaultValue = "auto")
    String backend;

    /** Fail instead of falling back to the CPU when the CUDA backend is missing or no GPU is usable. */
    @Parameter(property = "scalenet.requireGpu", defaultValue = "false")
    boolean requireGpu;

    /**
     * timm constructor arguments for a {@code .safetensors} model, as JSON (timm's {@code model.__init__} arguments,
     * or our sidecar with a {@code constructor} object). Default: the JSON published beside the weights (same name,
     * {@code .json}; for coordinates the same artifact with type {@code json}). Not used for model zips, which carry
     * their architecture.
     */
    @Parameter(property = "scalenet.modelConfig")
    String modelConfig;

    /**
     * A timm model name whose constructor arguments describe a {@code .safetensors} model that has no JSON beside it:
     * {@code deit_tiny_patch16_224}, {@code deit_small_patch16_224} or {@code deit_base_patch16_224}. The weights
     * still decide every shape they show; the preset supplies what they do not ({@code num_heads}) and must agree
     * with the rest. Use either this or {@code modelConfig}.
     */
    @Parameter(property = "scalenet.preset")
    String preset;

    @Parameter(defaultValue = "${project}", readonly = true, required = true)
    MavenProject project;

    @Parameter(defaultValue = "${session}", readonly = true, required = true)
    MavenSession session;

    @Parameter(defaultValue = "${mojoExecution}", readonly = true, required = true)
    MojoExecution mojoExecution;

    final RepositorySystem repositorySystem;

    private final List<Path> temporaryFiles = new ArrayList<>();

    AbstractScaleNetMojo(RepositorySystem repositorySystem) {
        this.repositorySystem = repositorySystem;
    }

    @Override
    public final void execute() throws MojoExecutionException, MojoFailureException {
        String goal = "scalenet:" + mojoExecution.getGoal();
        if (skip) {
            getLog().info("Skipping " + goal + ": " + Parameters.describe("skip") + " is true");
            return;
        }
        try {
            useBackend();
            run();
        } catch (InvalidSettingException e) {
            getLog().debug(e);
            throw invalid(e);
        } catch (DatasetException e) {
            getLog().debug(e);
            throw new MojoFailureException("Unusable dataset in " + Parameters.describe(dataParameterOf(e)) + ": "
                    + e.getMessage() + ". Fix the <" + dataParameterOf(e) + "> element of the scalenet plugin's <configuration>");
        } catch (IOException e) {
            // a FileSystemException's message is only the path: say what happened to it
            String what = e instanceof java.nio.file.FileSystemException ? e.getClass().getSimpleName() + ": " + e.getMessage() : e.getMessage();
            throw new MojoExecutionException(goal + " failed: " + what, e);
        } catch (RuntimeException e) {
            throw new MojoExecutionException(goal + " failed: " + e, e);
        } finally {
            for (Path p : temporaryFiles) {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException e) {
                    getLog().debug("could not delete " + p + ": " + e);
                }
            }
        }
    }

    /** The goal's work, after the backend is loaded. */
    abstract void run() throws MojoExecutionException, MojoFailureException, IOException;

    /** The plugin parameter a library setting name stands for; the names are designed to match. */
    String parameterOf(String setting) {
        return setting;
    }

    /** A library setting's failure as the failure of the parameter that carries it, in the parameter's spelling. */
    final MojoFailureException invalid(InvalidSettingException e) {
        return Parameters.invalid(parameterOf(e.setting()), e.value(), e.expected());
    }

    /** The data parameter a dataset failure is about. */
    abstract String dataParameterOf(DatasetException e);

    private void useBackend() throws MojoFailureException {
        Backend requested = Backend.parse(backend);
        if (Nd4jBackends.loaded().isPresent()) {
            String loaded = Nd4jBackends.loaded().get();
            boolean onCuda = BackendCandidate.kindOf(loaded) == BackendCandidate.Kind.CUDA;
            if (requireGpu && !onCuda) {
                throw new MojoFailureException(Parameters.describe("requireGpu") + " is true but an earlier scalenet goal in this "
                        + "build already loaded ND4J on " + loaded + ", and ND4J cannot switch backends within one JVM");
            }
            if ((requested == Backend.CPU && onCuda) || (requested == Backend.CUDA && !onCuda)) {
                getLog().warn(Parameters.describe("backend") + " = " + requested.spelling() + " ignored: an earlier scalenet goal in "
                        + "this build already loaded ND4J on " + loaded);
            }
            return;
        }
        BackendPolicy.Decision decision = BackendPolicy.choose(requested, requireGpu, Nd4jBackends.probe(BackendPolicy.kindsToProbe(requested)));
        decision.warnings().forEach(getLog()::warn);
        getLog().info("ND4J backend: " + Nd4jBackends.load(decision.backend()) + " (" + Parameters.describe("backend")
                + " = " + requested.spelling() + ")");
    }

    ModelResolver resolver() {
        // no session in unit tests, which give files, not coordinates
        return new ModelResolver(repositorySystem, session == null ? null : session.getRepositorySession(), project.getRemoteProjectRepositories(),
                project.getBasedir() != null ? project.getBasedir() : Path.of("").toAbsolutePath().toFile(), getLog());
    }

    /** A model parameter as files: the model, and the JSON describing its architecture when it is safetensors. */
    ModelResolver.Resolved model(String parameter, String value) throws MojoFailureException, IOException {
        ModelResolver r = resolver();
        ModelResolver.Resolved m = r.resolve(parameter, value);
        if (modelConfig != null && preset != null) {
            throw Parameters.invalid("preset", preset, "either <modelConfig> or <preset>, not both (modelConfig is " + modelConfig + ")");
        }
        if (VitModel.isModelZip(m.file())) {
            if (modelConfig != null || preset != null) {
                getLog().warn((modelConfig != null ? Parameters.describe("modelConfig") : Parameters.describe("preset"))
                        + " ignored: " + m.file().getFileName() + " is a model zip, which carries its own architecture");
            }
            return new ModelResolver.Resolved(m.file(), null, m.coordinates());
        }
        if (modelConfig != null) {
            return new ModelResolver.Resolved(m.file(), ModelResolver.requireFile("modelConfig", r.file(modelConfig)), m.coordinates());
        }
        if (preset != null) return new ModelResolver.Resolved(m.file(), presetFile(preset), m.coordinates());
        return m;
    }

    /** The preset's timm arguments as a temporary JSON file, the form the library reads architecture from. */
    private Path presetFile(String name) throws IOException {
        VitConfig config = VitConfig.preset(name); // an unknown name fails as the setting "preset"
        ObjectNode sidecar = new ObjectMapper().createObjectNode();
        sidecar.set("constructor", config.toTimmArgs());
        Path file = Files.createTempFile("scalenet-preset-" + name, ".json");
        temporaryFiles.add(file);
        Files.writeString(file, sidecar.toString());
        return file;
    }

    VitModel loadModel(String parameter, String value) throws MojoFailureException, IOException {
        ModelResolver.Resolved m = model(parameter, value);
        return VitModel.load(m.file(), m.sidecar());
    }

    /** A path parameter, resolved against the project's base directory. */
    Path path(String value) {
        return resolver().file(value);
    }

    /**
     * The training recipe from this goal's parameters: every {@link TrainConfig} setting that the goal has a parameter
     * of the same name for (Maven sets the fields, so the list of settings is the recipe's own, not repeated here).
     * A given value is set, a null keeps the library's default, and the library validates (failures name the setting,
     * which is the parameter).
     */
    TrainConfig recipe() {
        ObjectMapper mapper = new ObjectMapper();
        ObjectNode json = mapper.createObjectNode();
        for (Iterator<String> it = TrainConfig.builder().build().toJson().fieldNames(); it.hasNext(); ) {
            String setting = it.next();
            Object value = parameterValue(setting);
            if (value != null) json.set(setting, mapper.valueToTree(value));
        }
        return TrainConfig.fromJson(json).build();
    }

    /** The value of this goal's parameter field {@code name}, or null when it has none (or it is unset). */
    private Object parameterValue(String name) {
        for (Class<?> c = getClass(); c != AbstractScaleNetMojo.class.getSuperclass(); c = c.getSuperclass()) {
            try {
                Field f = c.getDeclaredField(name); // @Parameter is not kept at run time: the name is the contract
                f.setAccessible(true);
                return f.get(this);
            } catch (NoSuchFieldException e) {
                // look in the superclass
            } catch (IllegalAccessException e) {
                throw new IllegalStateException("cannot read the parameter field " + name, e);
            }
        }
        return null;
    }
}
