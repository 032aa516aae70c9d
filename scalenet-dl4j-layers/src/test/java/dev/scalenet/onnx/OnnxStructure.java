package dev.scalenet.onnx;

import onnx.Onnx;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * The structural checks ONNX's model checker makes that matter for these graphs, in Java, and ONNX's own checker
 * ({@code onnx.checker.check_model(full_check=True)}, which adds shape inference) when {@code /usr/bin/python3} has
 * the {@code onnx} package (Debian's {@code python3-onnx}).
 */
final class OnnxStructure {
    private static final String PYTHON = "/usr/bin/python3";

    private OnnxStructure() {}

    /**
     * The problems found, none for a well-formed model: opset and IR version; every name defined once; every node
     * input defined before the node reads it (graph input, initializer or an earlier node's output: topological order);
     * every node named, uniquely; every graph output produced; every initializer's data the size its dims and type say.
     */
    static List<String> problems(Onnx.ModelProto model) {
        List<String> problems = new ArrayList<>();
        if (model.getIrVersion() != OnnxExport.IR_VERSION) problems.add("IR version " + model.getIrVersion());
        if (model.getOpsetImportCount() != 1 || !model.getOpsetImport(0).getDomain().isEmpty()
                || model.getOpsetImport(0).getVersion() != OnnxExport.OPSET) {
            problems.add("opset imports " + model.getOpsetImportList());
        }
        Onnx.GraphProto g = model.getGraph();
        Set<String> defined = new HashSet<>();
        for (Onnx.ValueInfoProto in : g.getInputList()) define(in.getName(), defined, problems);
        for (Onnx.TensorProto t : g.getInitializerList()) {
            define(t.getName(), defined, problems);
            long elements = t.getDimsList().stream().reduce(1L, Math::multiplyExact);
            int bytesPer = t.getDataType() == Onnx.TensorProto.DataType.FLOAT.getNumber() ? 4
                    : t.getDataType() == Onnx.TensorProto.DataType.INT64.getNumber() ? 8 : -1;
            if (bytesPer < 0) problems.add("initializer " + t.getName() + " has data type " + t.getDataType());
            else if (t.getRawData().size() != elements * bytesPer) {
                problems.add("initializer " + t.getName() + " dims " + t.getDimsList() + " but " + t.getRawData().size() + " bytes");
            }
        }
        Set<String> nodeNames = new HashSet<>();
        for (Onnx.NodeProto n : g.getNodeList()) {
            // ONNX allows unnamed nodes, but ONNX Runtime's fusions name their nodes after them and fail on duplicates
            if (n.getName().isEmpty() || !nodeNames.add(n.getName())) problems.add("node name '" + n.getName() + "' empty or repeated");
            if (!n.getDomain().isEmpty()) problems.add("node " + n.getOutput(0) + " in domain " + n.getDomain());
            for (String in : n.getInputList()) {
                if (!defined.contains(in)) problems.add("node " + n.getOutput(0) + " (" + n.getOpType() + ") reads undefined '" + in + "'");
            }
            for (String out : n.getOutputList()) define(out, defined, problems);
        }
        for (Onnx.ValueInfoProto out : g.getOutputList()) {
            if (!defined.contains(out.getName())) problems.add("graph output " + out.getName() + " is never produced");
        }
        return problems;
    }

    private static void define(String name, Set<String> defined, List<String> problems) {
        if (!defined.add(name)) problems.add("'" + name + "' is defined twice");
    }

    /** Whether ONNX's own checker is here. */
    static boolean onnxCheckerAvailable() {
        try {
            return run(List.of(PYTHON, "-c", "import onnx.checker")).isEmpty();
        } catch (IOException e) {
            return false;
        }
    }

    /** ONNX's checker with shape inference on {@code file}: its complaint, or empty. */
    static String onnxChecker(Path file) throws IOException {
        return run(List.of(PYTHON, "-c", "import onnx, sys; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True)",
                file.toString()));
    }

    private static String run(List<String> command) throws IOException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        try {
            String out = new String(p.getInputStream().readAllBytes());
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return "timed out: " + command;
            }
            return p.exitValue() == 0 ? "" : out.isEmpty() ? "exit " + p.exitValue() : out;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        }
    }
}
