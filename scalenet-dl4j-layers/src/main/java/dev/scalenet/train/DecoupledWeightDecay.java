package dev.scalenet.train;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.learning.regularization.Regularization;
import org.nd4j.linalg.learning.regularization.WeightDecay;
import org.nd4j.linalg.schedule.FixedSchedule;
import org.nd4j.linalg.schedule.ISchedule;
import org.nd4j.shade.jackson.annotation.JsonProperty;

/**
 * AdamW's weight decay: after the Adam step, {@code w -= lr · coeff · w}. DL4J's {@link WeightDecay} with
 * {@code applyLR} does exactly that, but also adds {@code coeff/2 · |w|²} to the reported score; decoupled
 * decay is not part of the loss, so this one reports nothing and the logged loss stays the cross-entropy.
 */
public class DecoupledWeightDecay extends WeightDecay {

    public DecoupledWeightDecay(double coeff) {
        this(new FixedSchedule(coeff));
    }

    public DecoupledWeightDecay(@JsonProperty("coeff") ISchedule coeff) {
        super(coeff, true);
    }

    @Override
    public double score(INDArray param, int iteration, int epoch) {
        return 0.0;
    }

    @Override
    public Regularization clone() {
        return new DecoupledWeightDecay(coeff.clone());
    }
}
