import javax.imageio.ImageIO
import java.awt.image.BufferedImage

// a 2-class image-folder dataset (the model's head has 10) and a folder with no classes at all
['shirt', 'shoe'].each { cls ->
    File dir = new File(basedir, "two-classes/$cls")
    dir.mkdirs()
    ImageIO.write(new BufferedImage(28, 28, BufferedImage.TYPE_BYTE_GRAY), 'png', new File(dir, '0.png'))
}
new File(basedir, 'empty').mkdirs()
true
