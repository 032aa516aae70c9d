package dev.scalenet.engine;

/** The sizes a block's arithmetic needs: width, heads and the MLP's hidden width (the layers' {@code BlockShape} gives them). */
public record BlockDims(int embedDim, int numHeads, int mlpHiddenDim) {
    public BlockDims {
        if (embedDim <= 0 || numHeads <= 0 || embedDim % numHeads != 0 || mlpHiddenDim <= 0) {
            throw new IllegalArgumentException("block of width " + embedDim + ", " + numHeads + " heads and MLP width "
                    + mlpHiddenDim + ": expected positive sizes with the heads dividing the width");
        }
    }

    public int headDim() {
        return embedDim / numHeads;
    }
}
