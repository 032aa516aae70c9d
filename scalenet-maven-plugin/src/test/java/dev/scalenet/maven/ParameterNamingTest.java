package dev.scalenet.maven;

import dev.scalenet.train.TrainConfig;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;
import org.w3c.dom.NodeList;

import javax.xml.parsers.DocumentBuilderFactory;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The names users see, read from the generated plugin descriptor (what Maven and the goal reference use): POM
 * elements, -D properties and the library's setting names agree, and every parameter is documented.
 */
class ParameterNamingTest {
    /** goal -> its user-settable parameters: name -> [property expression, description]. */
    private static final Map<String, Map<String, String[]>> GOALS = new LinkedHashMap<>();

    @BeforeAll
    static void readDescriptor() throws Exception {
        try (InputStream in = ParameterNamingTest.class.getResourceAsStream("/META-INF/maven/plugin.xml")) {
            assertNotNull(in, "plugin.xml is generated before the tests run");
            Document doc = DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(in);
            NodeList mojos = doc.getElementsByTagName("mojo");
            for (int i = 0; i < mojos.getLength(); i++) {
                Element mojo = (Element) mojos.item(i);
                Map<String, String[]> params = new LinkedHashMap<>();
                Element config = child(mojo, "configuration");
                for (Element p : children(child(mojo, "parameters"), "parameter")) {
                    if (!text(p, "editable").equals("true")) continue;
                    String name = text(p, "name");
                    Element c = config == null ? null : child(config, name);
                    params.put(name, new String[] {c == null ? "" : c.getTextContent(), text(p, "description")});
                }
                GOALS.put(text(mojo, "goal"), params);
            }
        }
    }

    @Test
    @DisplayName("the four goals exist")
    void goals() {
        assertEquals(List.of("evaluate", "expand", "export", "predict"), GOALS.keySet().stream().sorted().toList());
    }

    @Test
    @DisplayName("every parameter of every goal has the property scalenet.<its name> and a description")
    void propertiesAndDocs() {
        GOALS.forEach((goal, params) -> params.forEach((name, p) -> {
            assertEquals("${scalenet." + name + "}", p[0], goal + " <" + name + ">");
            assertFalse(p[1].isBlank(), goal + " <" + name + "> has no description");
        }));
    }

    @Test
    @DisplayName("every setting of the training recipe is a parameter of expand, under the same name")
    void recipeSettingsAreExpandParameters() {
        for (Iterator<String> it = TrainConfig.builder().build().toJson().fieldNames(); it.hasNext(); ) {
            String setting = it.next();
            assertTrue(GOALS.get("expand").containsKey(setting), "expand has no parameter for the recipe setting " + setting);
        }
    }

    @Test
    @DisplayName("a configuration error names the POM element and the property, the value, what is allowed, and the fix")
    void message() {
        String m = Parameters.invalid("depth", 3, "at least the base model's depth 4").getMessage();
        assertEquals("Invalid <depth> (-Dscalenet.depth) = 3: expected at least the base model's depth 4. Fix the <depth> "
                + "element of the scalenet plugin's <configuration>, or pass -Dscalenet.depth=...", m);
        assertTrue(Parameters.missing("model", "a model file").getMessage().startsWith("Missing <model> (-Dscalenet.model): a model file."));
    }

    private static Element child(Element parent, String name) {
        for (Node n = parent.getFirstChild(); n != null; n = n.getNextSibling()) {
            if (n instanceof Element e && e.getTagName().equals(name)) return e;
        }
        return null;
    }

    private static List<Element> children(Element parent, String name) {
        List<Element> list = new ArrayList<>();
        for (Node n = parent.getFirstChild(); n != null; n = n.getNextSibling()) {
            if (n instanceof Element e && e.getTagName().equals(name)) list.add(e);
        }
        return list;
    }

    private static String text(Element parent, String name) {
        Element e = child(parent, name);
        return e == null ? "" : e.getTextContent().trim();
    }
}
