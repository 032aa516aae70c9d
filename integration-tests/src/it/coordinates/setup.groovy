// The first 200 Fashion-MNIST test images as the evaluate goal preprocesses them for this model, as a float32
// [200, 1, 28, 28] .npy for the predict goal, so verify.groovy can count top-1 itself from the model's logits.
// The fixture's JSON has no pretrained_cfg, so the model normalises with mean 0.5 and std 0.5 (verify.groovy checks
// that in the report); the images are already 28x28, so the resize and centre crop (crop_pct 1) leave them as they are.
import java.nio.ByteBuffer
import java.nio.ByteOrder
import java.util.zip.GZIPInputStream

int n = 200
byte[] idx = new GZIPInputStream(new FileInputStream(new File(itData, 't10k-images-idx3-ubyte.gz'))).bytes
ByteBuffer header = ByteBuffer.wrap(idx).order(ByteOrder.BIG_ENDIAN)
assert header.getInt() == 2051 : 'not an IDX image file'
header.getInt()
assert header.getInt() == 28 && header.getInt() == 28
String dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (${n}, 1, 28, 28), }"
int pad = 64 - (10 + dict.length() + 1) % 64
byte[] head = (dict + ' ' * pad + '\n').getBytes('ISO-8859-1')
ByteBuffer out = ByteBuffer.allocate(10 + head.length + n * 784 * 4).order(ByteOrder.LITTLE_ENDIAN)
out.put((byte) 0x93).put('NUMPY'.getBytes('ISO-8859-1')).put((byte) 1).put((byte) 0).putShort((short) head.length).put(head)
for (int i = 0; i < n * 784; i++) out.putFloat((float) ((((idx[16 + i] & 0xff) / 255f) - 0.5d) / 0.5d))
new File(basedir, 'eval-first-200.npy').bytes = out.array()
true
