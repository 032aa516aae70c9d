package dev.scalenet.maven;

import org.apache.maven.plugin.MojoFailureException;

/** Parses the {@code order} parameter: source block indices, comma- or space-separated, optionally in brackets. */
final class ExpansionOrder {
    private ExpansionOrder() {}

    static int[] parse(String value) throws MojoFailureException {
        String body = value.trim().replaceAll("^\\[|\\]$", "").trim();
        String[] parts = body.split("[,\\s]+");
        int[] order = new int[parts.length];
        for (int i = 0; i < parts.length; i++) {
            try {
                order[i] = Integer.parseInt(parts[i]);
            } catch (NumberFormatException e) {
                throw Parameters.invalid("order", value, "source block indices separated by commas, e.g. 0,1,2,3,0,1,2,3 ('"
                        + parts[i] + "' is not a whole number)");
            }
        }
        return order;
    }
}
