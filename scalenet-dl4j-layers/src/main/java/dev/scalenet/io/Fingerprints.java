package dev.scalenet.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/** SHA-256 digests of files, folders and settings, for provenance and up-to-date checks. */
public final class Fingerprints {
    private static final ObjectMapper CANONICAL = new ObjectMapper().configure(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS, true);

    private Fingerprints() {}

    /** The SHA-256 of a file's bytes, in hex. */
    public static String file(Path file) throws IOException {
        MessageDigest sha = sha256();
        try (InputStream in = Files.newInputStream(file)) {
            byte[] buffer = new byte[1 << 16];
            for (int n; (n = in.read(buffer)) > 0; ) sha.update(buffer, 0, n);
        }
        return hex(sha.digest());
    }

    /**
     * A cheap digest of a file or folder tree: every regular file's relative path, size and modification time
     * (not its bytes, so a large image folder costs one directory walk).
     */
    public static String tree(Path root) throws IOException {
        MessageDigest sha = sha256();
        for (Path f : regularFiles(root)) {
            String line = relative(root, f) + "\t" + Files.size(f) + "\t" + Files.getLastModifiedTime(f).toMillis() + "\n";
            sha.update(line.getBytes(StandardCharsets.UTF_8));
        }
        return hex(sha.digest());
    }

    /**
     * The SHA-256 of a file's bytes, or of a folder's contents: every regular file's relative path (with '/') and
     * the SHA-256 of its bytes, in path order. Independent of where the folder lies and of modification times,
     * so it identifies data across machines; it reads every byte, so it is for provenance, not up-to-date checks.
     */
    public static String contents(Path path) throws IOException {
        if (!Files.isDirectory(path)) return file(path);
        MessageDigest sha = sha256();
        for (Path f : regularFiles(path)) {
            sha.update((relative(path, f) + "\t" + file(f) + "\n").getBytes(StandardCharsets.UTF_8));
        }
        return hex(sha.digest());
    }

    private static List<Path> regularFiles(Path root) throws IOException {
        try (Stream<Path> walk = Files.walk(root)) {
            return walk.filter(Files::isRegularFile).sorted().collect(Collectors.toList());
        }
    }

    private static String relative(Path root, Path file) {
        return root.relativize(file).toString().replace(java.io.File.separatorChar, '/');
    }

    /** The SHA-256 of a JSON value written with sorted keys. */
    public static String json(JsonNode value) {
        try {
            Object canonical = CANONICAL.treeToValue(value, Object.class);
            return hex(sha256().digest(CANONICAL.writeValueAsBytes(canonical)));
        } catch (IOException e) {
            throw new IllegalStateException("cannot serialise a JSON tree", e);
        }
    }

    /** A fresh SHA-256 digest. */
    public static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is a required JDK algorithm", e);
        }
    }

    /** Lower-case hex of a digest. */
    public static String hex(byte[] digest) {
        StringBuilder s = new StringBuilder();
        for (byte b : digest) s.append(String.format("%02x", b));
        return s.toString();
    }
}
