package dev.scalenet.io;

import java.nio.file.Path;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.stream.Collectors;

/** An immutable set of named tensors, ordered by name, with the checkpoint's string metadata. */
public final class Checkpoint {
    private static final int NAMES_LISTED = 10;

    private final Path source;
    private final SortedMap<String, Tensor> tensors;
    private final Map<String, String> metadata;

    /**
     * @param source the file the tensors came from, or null for an in-memory checkpoint
     * @param metadata kept in its iteration order
     * @throws IllegalArgumentException if two tensors share a name
     */
    public Checkpoint(Path source, Collection<Tensor> tensors, Map<String, String> metadata) {
        this.source = source;
        SortedMap<String, Tensor> byName = new TreeMap<>();
        for (Tensor t : tensors) {
            if (byName.put(t.name(), t) != null) {
                throw new IllegalArgumentException("duplicate tensor '" + t.name() + "' in " + describeSource());
            }
        }
        this.tensors = Collections.unmodifiableSortedMap(byName);
        this.metadata = Collections.unmodifiableMap(new LinkedHashMap<>(Objects.requireNonNull(metadata)));
    }

    public Optional<Tensor> find(String name) {
        return Optional.ofNullable(tensors.get(name));
    }

    /** @throws IllegalArgumentException naming the checkpoint and the tensors it has, if absent */
    public Tensor require(String name) {
        Tensor t = tensors.get(name);
        if (t == null) {
            String listed = tensors.keySet().stream().limit(NAMES_LISTED).collect(Collectors.joining(", "));
            String more = tensors.size() > NAMES_LISTED ? ", … (" + tensors.size() + " in all)" : "";
            throw new IllegalArgumentException("tensor '" + name + "' not found in " + describeSource()
                    + "; it has: " + (tensors.isEmpty() ? "no tensors" : listed + more));
        }
        return t;
    }

    /** Tensor names in sorted order. */
    public Set<String> names() {
        return tensors.keySet();
    }

    public int size() {
        return tensors.size();
    }

    /** Unmodifiable, sorted by name. */
    public Map<String, Tensor> asMap() {
        return tensors;
    }

    /** Unmodifiable, in file order. */
    public Map<String, String> metadata() {
        return metadata;
    }

    /** The file the checkpoint was read from, or null. */
    public Path source() {
        return source;
    }

    private String describeSource() {
        return source == null ? "in-memory checkpoint" : source.toAbsolutePath().toString();
    }

    @Override
    public String toString() {
        return "Checkpoint[" + describeSource() + ", " + tensors.size() + " tensors]";
    }
}
