package dev.scalenet.guide;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The documents show compiled code: every Java block of the library guide ({@code library.md}), of the deploying page
 * ({@code deploying.md}) and of the README is preceded by {@code <!-- snippet: name -->} and equals the region
 * {@code name} of {@link LibraryGuideExamplesTest}, {@link DeployingGuideExamplesTest} or {@link ReadmeExamplesTest}
 * (indentation removed), which compile and run.
 */
class LibraryGuideTest {
    private static final Path GUIDE = Paths.get("../site/src/site/markdown/library.md");
    private static final Path EXAMPLES = Paths.get("src/test/java/dev/scalenet/guide/LibraryGuideExamplesTest.java");
    private static final Path README = Paths.get("../README.md");
    private static final Path README_EXAMPLES = Paths.get("src/test/java/dev/scalenet/guide/ReadmeExamplesTest.java");
    private static final Path DEPLOYING = Paths.get("../site/src/site/markdown/deploying.md");
    private static final Path DEPLOYING_EXAMPLES = Paths.get("src/test/java/dev/scalenet/guide/DeployingGuideExamplesTest.java");
    private static final Pattern BLOCK = Pattern.compile("(?:<!-- snippet: (\\w+) -->\\n)?```java\\n(.*?)```", Pattern.DOTALL);
    private static final Pattern REGION = Pattern.compile("// tag::(\\w+)\\[]\\n(.*?)\\n\\s*// end::\\1\\[]", Pattern.DOTALL);

    /** The regions of the examples, dedented by their first line's indentation. */
    static Map<String, String> regions(String source) {
        Map<String, String> regions = new LinkedHashMap<>();
        Matcher m = REGION.matcher(source);
        while (m.find()) {
            String body = m.group(2);
            int indent = body.length() - body.stripLeading().length();
            StringBuilder s = new StringBuilder();
            for (String line : body.split("\n", -1)) {
                s.append(line.length() >= indent ? line.substring(indent) : line.strip()).append('\n');
            }
            regions.put(m.group(1), s.toString());
        }
        return regions;
    }

    @Test
    @DisplayName("every Java block of the library guide is a region of LibraryGuideExamplesTest, verbatim")
    void guideQuotesCompiledExamples() throws Exception {
        assertQuotes(GUIDE, EXAMPLES);
    }

    @Test
    @DisplayName("every Java block of the README is a region of ReadmeExamplesTest, verbatim")
    void readmeQuotesCompiledExamples() throws Exception {
        assertQuotes(README, README_EXAMPLES);
    }

    @Test
    @DisplayName("every Java block of the deploying page is a region of DeployingGuideExamplesTest, verbatim")
    void deployingPageQuotesCompiledExamples() throws Exception {
        assertQuotes(DEPLOYING, DEPLOYING_EXAMPLES);
    }

    private static void assertQuotes(Path document, Path examples) throws Exception {
        String text = Files.readString(document);
        Map<String, String> regions = regions(Files.readString(examples));
        List<String> quoted = new ArrayList<>();
        Matcher m = BLOCK.matcher(text);
        while (m.find()) {
            String name = m.group(1);
            assertTrue(name != null, document + ": a Java block without a <!-- snippet: name --> marker:\n" + m.group(2));
            assertTrue(regions.containsKey(name), "no region '" + name + "' in " + examples + " (regions: " + regions.keySet() + ")");
            assertEquals(regions.get(name), m.group(2), document + ": the block '" + name + "' differs from the compiled region");
            quoted.add(name);
        }
        assertEquals(regions.keySet().stream().toList(), quoted, document + ": each region quoted once, in order");
    }
}
