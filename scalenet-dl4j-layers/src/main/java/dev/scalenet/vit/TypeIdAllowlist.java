package dev.scalenet.vit;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.nd4j.shade.jackson.databind.JavaType;
import org.nd4j.shade.jackson.databind.ObjectMapper;
import org.nd4j.shade.jackson.databind.cfg.MapperConfig;
import org.nd4j.shade.jackson.databind.exc.InvalidTypeIdException;
import org.nd4j.shade.jackson.databind.jsontype.PolymorphicTypeValidator;

import java.io.IOException;
import java.util.List;

/**
 * The classes a model's configuration may name: Jackson loads whatever class a type id names, and it reads type ids in
 * more forms than the {@code "@class"} property DL4J writes (the wrapper-array form {@code ["some.Class", {...}]} shows
 * no {@code @class} key). So the allowlist sits where Jackson resolves every form: a {@link PolymorphicTypeValidator} on a
 * copy of DL4J's own mapper (DL4J's global mapper is left as it is), which refuses a name before its class is loaded.
 */
final class TypeIdAllowlist {
    static final List<String> ALLOWED_PACKAGES = List.of("org.deeplearning4j.", "org.nd4j.", "dev.scalenet.");

    private static final ObjectMapper MAPPER = NeuralNetConfiguration.mapper().copy()
            .setPolymorphicTypeValidator(new PolymorphicTypeValidator.Base() {
                @Override
                public Validity validateSubClassName(MapperConfig<?> config, JavaType baseType, String name) {
                    return allowed(name) ? Validity.ALLOWED : Validity.DENIED;
                }
            });

    /** A type id naming a class outside {@link #ALLOWED_PACKAGES}. */
    static final class DeniedClass extends Exception {
        DeniedClass(String name) {
            super("names the class '" + name + "': expected classes of " + ALLOWED_PACKAGES);
        }
    }

    private TypeIdAllowlist() {
    }

    static boolean allowed(String className) {
        return ALLOWED_PACKAGES.stream().anyMatch(className::startsWith);
    }

    /**
     * Binds {@code json} as DL4J's {@code fromJson} first does, with every type id checked; any other failure to bind
     * is thrown as it comes (an {@link IOException} or a runtime exception).
     */
    static ComputationGraphConfiguration bind(String json) throws DeniedClass, IOException {
        try {
            return MAPPER.readValue(json, ComputationGraphConfiguration.class);
        } catch (InvalidTypeIdException e) {
            if (e.getTypeId() != null && !allowed(e.getTypeId())) throw new DeniedClass(e.getTypeId());
            throw e;
        }
    }
}
