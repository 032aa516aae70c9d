package dev.scalenet.onnx;

import dev.scalenet.io.Tensor;
import onnx.Onnx;
import org.nd4j.shade.protobuf.ByteString;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HashSet;
import java.util.Set;

/**
 * An ONNX graph under construction, over ND4J's copy of ONNX's protobuf classes ({@code onnx.Onnx}): nodes of the
 * default domain, float initializers, int64 constants, and inputs/outputs with a symbolic batch dimension. Node
 * outputs are named by the caller so that a reader (Netron, an error message of the runtime) sees the timm path of
 * each value; names must be unique, which {@link #node} checks.
 */
final class OnnxGraph {
    /** The symbolic first dimension of inputs and outputs: any batch size runs. */
    static final String BATCH = "batch";

    private final Onnx.GraphProto.Builder graph = Onnx.GraphProto.newBuilder();
    private final Set<String> names = new HashSet<>();

    OnnxGraph(String name) {
        graph.setName(name);
    }

    /** A float32 initializer named as the tensor (raw little-endian data, the compact form). */
    String initializer(Tensor t) {
        ByteBuffer bytes = ByteBuffer.allocate(Math.multiplyExact(4, t.values().length)).order(ByteOrder.LITTLE_ENDIAN);
        bytes.asFloatBuffer().put(t.values());
        Onnx.TensorProto.Builder p = Onnx.TensorProto.newBuilder().setName(claim(t.name()))
                .setDataType(Onnx.TensorProto.DataType.FLOAT.getNumber()).setRawData(ByteString.copyFrom(bytes.array()));
        for (long d : t.shape()) p.addDims(d);
        graph.addInitializer(p);
        return t.name();
    }

    /** A 1-D int64 initializer: shapes, axes and indices for Reshape, Slice, Gather and Concat. */
    String ints(String name, long... values) {
        ByteBuffer bytes = ByteBuffer.allocate(8 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        bytes.asLongBuffer().put(values);
        graph.addInitializer(Onnx.TensorProto.newBuilder().setName(claim(name)).addDims(values.length)
                .setDataType(Onnx.TensorProto.DataType.INT64.getNumber()).setRawData(ByteString.copyFrom(bytes.array())));
        return name;
    }

    /** A rank-0 int64 initializer: the index that makes Gather drop its axis. */
    String index(String name, long value) {
        ByteBuffer bytes = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(value);
        graph.addInitializer(Onnx.TensorProto.newBuilder().setName(claim(name))
                .setDataType(Onnx.TensorProto.DataType.INT64.getNumber()).setRawData(ByteString.copyFrom(bytes.array())));
        return name;
    }

    /** A float32 scalar initializer (rank 0), for constants of element-wise arithmetic. */
    String scalar(String name, float value) {
        ByteBuffer bytes = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putFloat(value);
        graph.addInitializer(Onnx.TensorProto.newBuilder().setName(claim(name))
                .setDataType(Onnx.TensorProto.DataType.FLOAT.getNumber()).setRawData(ByteString.copyFrom(bytes.array())));
        return name;
    }

    /** Adds node {@code op} whose one output is {@code output}; returns {@code output}. */
    String node(String op, String output, String[] inputs, Onnx.AttributeProto... attributes) {
        // a short unique node name: the output's name says what it is; ONNX Runtime 1.20's fusions derive names from node
        // names and reject a model without them ("two nodes with same node name /GatherSliceToSplitFusion/")
        Onnx.NodeProto.Builder n = Onnx.NodeProto.newBuilder().setOpType(op).setName("n" + graph.getNodeCount())
                .addOutput(claim(output));
        for (String in : inputs) n.addInput(in);
        for (Onnx.AttributeProto a : attributes) n.addAttribute(a);
        graph.addNode(n);
        return output;
    }

    static String[] in(String... inputs) {
        return inputs;
    }

    static Onnx.AttributeProto attr(String name, long value) {
        return Onnx.AttributeProto.newBuilder().setName(name).setType(Onnx.AttributeProto.AttributeType.INT).setI(value).build();
    }

    static Onnx.AttributeProto attr(String name, float value) {
        return Onnx.AttributeProto.newBuilder().setName(name).setType(Onnx.AttributeProto.AttributeType.FLOAT).setF(value).build();
    }

    static Onnx.AttributeProto attr(String name, long... values) {
        Onnx.AttributeProto.Builder a = Onnx.AttributeProto.newBuilder().setName(name).setType(Onnx.AttributeProto.AttributeType.INTS);
        for (long v : values) a.addInts(v);
        return a.build();
    }

    /** A float32 graph input of shape {@code [batch, dims...]}. */
    void input(String name, long... dims) {
        graph.addInput(valueInfo(claim(name), dims));
    }

    /** A float32 graph output of shape {@code [batch, dims...]}, the value of that name. */
    void output(String name, long... dims) {
        graph.addOutput(valueInfo(name, dims));
    }

    private static Onnx.ValueInfoProto valueInfo(String name, long... dims) {
        Onnx.TensorShapeProto.Builder shape = Onnx.TensorShapeProto.newBuilder();
        shape.addDim(Onnx.TensorShapeProto.Dimension.newBuilder().setDimParam(BATCH));
        for (long d : dims) shape.addDim(Onnx.TensorShapeProto.Dimension.newBuilder().setDimValue(d));
        return Onnx.ValueInfoProto.newBuilder().setName(name).setType(Onnx.TypeProto.newBuilder().setTensorType(
                Onnx.TypeProto.Tensor.newBuilder().setElemType(Onnx.TensorProto.DataType.FLOAT.getNumber()).setShape(shape))).build();
    }

    private String claim(String name) {
        if (!names.add(name)) throw new IllegalStateException("ONNX value name '" + name + "' is defined twice");
        return name;
    }

    Onnx.GraphProto.Builder proto() {
        return graph;
    }
}
