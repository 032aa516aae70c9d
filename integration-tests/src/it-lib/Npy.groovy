// shared by the verify scripts (evaluate(new File(itLib, "Npy.groovy"))): reads a float32
// little-endian C-order .npy, returns [shape: [...], data: float[]]
import java.nio.ByteBuffer
import java.nio.ByteOrder

def readNpy = { File f ->
    ByteBuffer b = ByteBuffer.wrap(f.bytes).order(ByteOrder.LITTLE_ENDIAN)
    byte[] magic = new byte[6]; b.get(magic)
    assert new String(magic, 1, 5, 'ISO-8859-1') == 'NUMPY' : "$f: not an .npy file"
    int major = b.get(); b.get()
    int headerLen = major == 1 ? (b.getShort() & 0xffff) : b.getInt()
    byte[] h = new byte[headerLen]; b.get(h)
    String header = new String(h, 'ISO-8859-1')
    assert header.contains("'<f4'") : "$f: expected float32 little-endian, header $header"
    assert header.contains("'fortran_order': False") : "$f: expected C order"
    def shape = (header =~ /'shape': \(([^)]*)\)/)[0][1].split(',').findAll { it.trim() }.collect { it.trim() as long }
    float[] data = new float[(int) shape.inject(1L) { a, x -> a * x }]
    b.asFloatBuffer().get(data)
    [shape: shape, data: data]
}

def maxAbsDiff = { Map a, Map e ->
    assert a.shape == e.shape : "shape ${a.shape}, expected ${e.shape}"
    double m = 0
    for (int i = 0; i < a.data.length; i++) m = Math.max(m, Math.abs((double) a.data[i] - e.data[i]))
    m
}

[readNpy: readNpy, maxAbsDiff: maxAbsDiff]
