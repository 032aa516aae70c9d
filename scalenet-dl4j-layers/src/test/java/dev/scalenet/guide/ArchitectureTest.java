package dev.scalenet.guide;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The architecture page's table of packages says what the code does: every package of every module is in it, in its
 * module, and imports nothing the table does not allow; the allowed imports have no cycle; the picture shows every
 * package. The imports are read from the sources (import lines and qualified names in code, not in comments or strings).
 */
class ArchitectureTest {
    private static final Path ROOT = Paths.get("..");
    private static final Path PAGE = ROOT.resolve("site/src/site/markdown/architecture.md");
    private static final Path PICTURE = ROOT.resolve("site/src/site/resources/images/architecture.svg");
    private static final String PROJECT = "dev.scalenet";

    /** The page's names for libraries, by package prefix; the longest prefix wins. */
    private static final Map<String, String> LIBRARIES = Map.ofEntries(
            Map.entry("java.", "JDK"), Map.entry("javax.", "JDK"), Map.entry("com.sun.management.", "JDK"),
            Map.entry("com.fasterxml.jackson.", "Jackson"),
            Map.entry("org.nd4j.", "ND4J"), Map.entry("onnx.", "ONNX"),
            Map.entry("org.bytedeco.", "JavaCPP"),
            Map.entry("org.deeplearning4j.", "DL4J"),
            Map.entry("org.slf4j.", "SLF4J"),
            Map.entry("org.jfree.", "JFreeChart"),
            Map.entry("org.apache.commons.math3.", "Commons Math"),
            Map.entry("picocli.", "picocli"),
            Map.entry("org.apache.maven.", "Maven"), Map.entry("org.eclipse.aether.", "Maven"), Map.entry("javax.inject.", "Maven"),
            Map.entry("org.apache.spark.", "Spark"), Map.entry("org.deeplearning4j.spark.", "Spark"), Map.entry("scala.", "Spark"));
    /** A qualified name followed by a class name or a wildcard: {@code org.nd4j.linalg.api.ndarray.INDArray}. */
    private static final Pattern QUALIFIED =
            Pattern.compile("(?<![\\w.])((?:java|javax|org|com|dev|picocli|onnx|scala)(?:\\.[a-z_][a-z0-9_]*)*)\\.(?:[A-Z]|\\*)");
    private static final Pattern PACKAGE = Pattern.compile("^\\s*package\\s+([\\w.]+)\\s*;", Pattern.MULTILINE);
    private static final Pattern ROW = Pattern.compile("^\\| `(dev\\.scalenet[\\w.]*)` \\| `([\\w-]+)` \\| (.+) \\| (.+) \\|$");

    /** A package's row: its module and what it may import (library names and project packages). */
    record Rule(String module, Set<String> libraries, Set<String> packages) {}

    /** Where a package's sources are, and what they reference: each qualified name with the file naming it. */
    record Found(String module, Map<String, Path> references) {}

    private static Map<String, Rule> rules;
    private static Map<String, Found> code;

    @BeforeAll
    static void read() throws IOException {
        rules = new LinkedHashMap<>();
        for (String line : Files.readAllLines(PAGE)) {
            Matcher m = ROW.matcher(line);
            if (!m.matches()) continue;
            Set<String> libraries = new TreeSet<>();
            Set<String> packages = new TreeSet<>();
            for (String item : m.group(4).split(",")) {
                String s = item.trim();
                if (s.startsWith("`") && s.endsWith("`")) packages.add(PROJECT + "." + s.substring(1, s.length() - 1));
                else libraries.add(s);
            }
            rules.put(m.group(1), new Rule(m.group(2), libraries, packages));
        }
        code = new TreeMap<>();
        try (Stream<Path> modules = Files.list(ROOT)) {
            for (Path module : modules.filter(d -> Files.isDirectory(d.resolve("src/main/java"))).toList()) {
                try (Stream<Path> files = Files.walk(module.resolve("src/main/java"))) {
                    for (Path file : files.filter(f -> f.toString().endsWith(".java")).toList()) {
                        String source = codeOnly(Files.readString(file));
                        Matcher p = PACKAGE.matcher(source);
                        assertTrue(p.find(), file + ": no package declaration");
                        Found found = code.computeIfAbsent(p.group(1),
                                k -> new Found(module.getFileName().toString(), new TreeMap<>()));
                        assertEquals(found.module(), module.getFileName().toString(), p.group(1) + " is split across modules");
                        Matcher q = QUALIFIED.matcher(source.substring(p.end()));
                        while (q.find()) found.references().putIfAbsent(q.group(1), file);
                    }
                }
            }
        }
    }

    @Test
    @DisplayName("the table lists every package of every module, each in the module its sources are in")
    void everyPackageInItsModule() {
        assertTrue(code.containsKey("dev.scalenet.layers") && code.containsKey("dev.scalenet.cli"), "read the modules: " + code.keySet());
        assertEquals(code.keySet(), new TreeSet<>(rules.keySet()), "packages in the code vs rows of " + PAGE);
        code.forEach((pkg, found) -> assertEquals(found.module(), rules.get(pkg).module(), pkg + "'s module"));
    }

    @Test
    @DisplayName("every package imports only what its row allows: the libraries by name, the project's packages, and dev.scalenet")
    void importsAsTheTableSays() {
        Set<String> names = new HashSet<>(LIBRARIES.values());
        List<String> wrong = new ArrayList<>();
        rules.forEach((pkg, rule) -> {
            assertTrue(names.containsAll(rule.libraries()), pkg + ": unknown library names " + rule.libraries());
            for (Map.Entry<String, Path> ref : code.getOrDefault(pkg, new Found("", Map.of())).references().entrySet()) {
                String name = ref.getKey();
                boolean allowed = name.equals(PROJECT) || name.equals(pkg) || rule.packages().contains(name)
                        || !name.startsWith(PROJECT + ".") && rule.libraries().contains(library(name));
                if (!allowed) wrong.add(ROOT.relativize(ref.getValue()) + " (" + pkg + ") uses " + name + " ("
                        + (name.startsWith(PROJECT) ? "a project package" : library(name)) + "), which its row does not allow");
            }
        });
        assertEquals(List.of(), wrong);
    }

    @Test
    @DisplayName("the allowed imports have no cycle: every arrow of the picture points down")
    void noCycles() {
        Set<String> done = new HashSet<>();
        for (String pkg : rules.keySet()) assertEquals(List.of(), cycleFrom(pkg, new ArrayList<>(), done), "a cycle of allowed imports");
    }

    @Test
    @DisplayName("the picture shows every package of the table")
    void pictureShowsEveryPackage() throws IOException {
        String svg = Files.readString(PICTURE);
        for (String pkg : rules.keySet()) {
            String shown = pkg.equals(PROJECT) || code.get(pkg) != null && !code.get(pkg).module().equals("scalenet-dl4j-layers")
                    ? pkg : pkg.substring(PROJECT.length() + 1);
            assertTrue(svg.contains(">" + shown + "<"), PICTURE + " has no box for " + shown);
        }
    }

    /** Depth-first from {@code pkg} along allowed imports: the first cycle met (its packages in order), or an empty list. */
    private static List<String> cycleFrom(String pkg, List<String> path, Set<String> done) {
        if (path.contains(pkg)) {
            List<String> cycle = new ArrayList<>(path.subList(path.indexOf(pkg), path.size()));
            cycle.add(pkg);
            return cycle;
        }
        if (!done.add(pkg)) return List.of();
        path.add(pkg);
        for (String next : rules.get(pkg).packages()) {
            assertTrue(rules.containsKey(next), pkg + " may import " + next + ", which has no row");
            List<String> cycle = cycleFrom(next, path, done);
            if (!cycle.isEmpty()) return cycle;
        }
        path.remove(path.size() - 1);
        return List.of();
    }

    /** The page's name for the library {@code qualifiedName} belongs to, or the name itself when it has none. */
    private static String library(String qualifiedName) {
        String dotted = qualifiedName + ".";
        return LIBRARIES.entrySet().stream().filter(e -> dotted.startsWith(e.getKey()))
                .max((a, b) -> Integer.compare(a.getKey().length(), b.getKey().length()))
                .map(Map.Entry::getValue).orElse(qualifiedName);
    }

    /** {@code source} with comments blanked and string, text-block and character literals emptied. */
    static String codeOnly(String source) {
        StringBuilder out = new StringBuilder(source.length());
        int i = 0;
        int n = source.length();
        while (i < n) {
            char c = source.charAt(i);
            if (source.startsWith("//", i)) {
                int end = source.indexOf('\n', i);
                i = end < 0 ? n : end;
            } else if (source.startsWith("/*", i)) {
                int end = source.indexOf("*/", i + 2);
                i = end < 0 ? n : end + 2;
                out.append(' ');
            } else if (source.startsWith("\"\"\"", i)) {
                int end = source.indexOf("\"\"\"", i + 3);
                i = end < 0 ? n : end + 3;
                out.append("\"\"");
            } else if (c == '"' || c == '\'') {
                int j = i + 1;
                while (j < n && source.charAt(j) != c) j += source.charAt(j) == '\\' ? 2 : 1;
                i = j + 1;
                out.append(c).append(c);
            } else {
                out.append(c);
                i++;
            }
        }
        return out.toString();
    }
}
