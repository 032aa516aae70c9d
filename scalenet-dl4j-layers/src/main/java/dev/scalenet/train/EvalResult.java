package dev.scalenet.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.Locale;

/**
 * Held-out quality of a model: top-1 and top-5 accuracy (top-k with k = min(5, classes)) and the mean
 * cross-entropy without label smoothing, over {@code examples} images.
 */
public final class EvalResult {
    private final long examples;
    private final double top1;
    private final double top5;
    private final double loss;

    public EvalResult(long examples, double top1, double top5, double loss) {
        this.examples = examples;
        this.top1 = top1;
        this.top5 = top5;
        this.loss = loss;
    }

    public long examples() { return examples; }
    /** Fraction in [0, 1]. */
    public double top1() { return top1; }
    /** Fraction in [0, 1]. */
    public double top5() { return top5; }
    public double loss() { return loss; }

    public ObjectNode toJson() {
        ObjectNode o = new ObjectMapper().createObjectNode();
        o.put("examples", examples);
        o.put("top1", top1);
        o.put("top5", top5);
        o.put("loss", loss);
        return o;
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "top-1 %.2f%%, top-5 %.2f%%, loss %.4f on %d images", 100 * top1, 100 * top5, loss, examples);
    }
}
