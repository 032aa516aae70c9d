package dev.scalenet.layers;

/**
 * One pre-norm ViT transformer block with its own parameters (timm's {@code Block}), for use in any
 * DL4J graph: {@code [batch, tokens, embedDim]} in and out. Parameters are named {@code src0.<timm name>}.
 * It is a {@link ScaleNetBlocks} stack of one source block used once.
 */
public class TransformerBlock extends ScaleNetBlocks {

    /** For DL4J's JSON deserialisation. */
    public TransformerBlock() {}

    private TransformerBlock(Builder b) {
        super(b.numSourceBlocks(1).order(0));
    }

    /** Configure width, heads, MLP width and qkv bias; blocks count and order are fixed at one. */
    public static class Builder extends ScaleNetBlocks.Builder {
        @Override
        @SuppressWarnings("unchecked")
        public TransformerBlock build() {
            return new TransformerBlock(this);
        }
    }
}
