package dev.scalenet.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class ImageTransformTest {
    private static final double[] ZERO = {0};
    private static final double[] ONE = {1};
    /** Identity normalisation for one channel, so tests see the geometry alone. */
    private static final DataConfig PLAIN_8 = DataConfig.of(1, 8, 8, ZERO, ONE);

    private static Image image(int c, int h, int w, float... data) {
        return new Image(c, h, w, data);
    }

    /** A 1-channel image with distinct pixels in [0, 1). */
    private static Image random(int c, int h, int w, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] data = new float[c * h * w];
        for (int i = 0; i < data.length; i++) {
            data[i] = (float) r.nextDouble();
        }
        return new Image(c, h, w, data);
    }

    // --- normalise, channels ---

    @Test
    @DisplayName("normalise is (x - mean[c]) / std[c], per channel, exact")
    void normalise() {
        Image x = image(2, 1, 3, 0f, 0.5f, 1f, 0f, 0.5f, 1f);
        Image n = ImageOps.normalise(x, new double[] {0.25, 0.5}, new double[] {0.5, 0.25});
        assertArrayEquals(new float[] {-0.5f, 0.5f, 1.5f, -2f, 0f, 2f}, n.data());
    }

    @Test
    @DisplayName("the eval transform of a 28x28 grey image with fashionMnist() is the normalised image, nothing more")
    void evalFashionMnist() {
        Image x = random(1, 28, 28, 1);
        Image y = ImageTransform.eval(DataConfig.fashionMnist()).apply(x);
        assertEquals(28, y.height());
        for (int i = 0; i < x.data().length; i++) {
            assertEquals((float) ((x.data()[i] - 0.2860) / 0.3530), y.data()[i]);
        }
    }

    @Test
    @DisplayName("grey to 3 channels replicates the plane; each channel then gets its own mean and std")
    void greyToColour() {
        Image grey = random(1, 4, 4, 2);
        Image three = ImageOps.adaptChannels(grey, 3);
        assertEquals(3, three.channels());
        for (int c = 0; c < 3; c++) {
            assertArrayEquals(grey.data(), Arrays.copyOfRange(three.data(), c * 16, (c + 1) * 16));
        }
        DataConfig cfg = DataConfig.of(3, 4, 4, new double[] {0.1, 0.2, 0.3}, new double[] {1, 2, 4});
        Image y = ImageTransform.eval(cfg).apply(grey);
        assertEquals((float) ((grey.data()[5] - 0.3) / 4), y.get(2, 1, 1));
    }

    @Test
    @DisplayName("RGB to 1 channel is ITU-R BT.601 luma: 0.299 R + 0.587 G + 0.114 B")
    void colourToGrey() {
        Image rgb = image(3, 1, 4,
                1, 0, 0, 1,  // red plane
                0, 1, 0, 1,  // green
                0, 0, 1, 1); // blue
        Image luma = ImageOps.adaptChannels(rgb, 1);
        assertEquals(1, luma.channels());
        assertArrayEquals(new float[] {0.299f, 0.587f, 0.114f, 1f}, luma.data(), 1e-7f);
        Image viaTransform = ImageTransform.eval(DataConfig.of(1, 1, 4, ZERO, ONE)).apply(rgb);
        assertArrayEquals(luma.data(), viaTransform.data());
    }

    @Test
    @DisplayName("channel counts other than grey/RGB cannot be adapted, and say so")
    void unsupportedChannels() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ImageOps.adaptChannels(random(2, 2, 2, 3), 3));
        assertTrue(e.getMessage().contains("cannot adapt 2 channels to 3"), e.getMessage());
    }

    // --- geometry ---

    @Test
    @DisplayName("flip mirrors each row of each channel; twice is the identity")
    void flip() {
        Image x = image(2, 2, 3, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12);
        Image f = ImageOps.flipHorizontal(x);
        assertArrayEquals(new float[] {3, 2, 1, 6, 5, 4, 9, 8, 7, 12, 11, 10}, f.data());
        assertArrayEquals(x.data(), ImageOps.flipHorizontal(f).data());
    }

    @Test
    @DisplayName("padded crop keeps the shape and shifts the content, filling with zeros")
    void padCrop() {
        Image x = image(1, 3, 3, 1, 2, 3, 4, 5, 6, 7, 8, 9);
        assertArrayEquals(x.data(), ImageOps.padCrop(x, 1, 1, 1).data()); // the centre offset is the image
        Image downRight = ImageOps.padCrop(x, 1, 0, 0);
        assertEquals(3, downRight.height());
        assertEquals(3, downRight.width());
        assertArrayEquals(new float[] {0, 0, 0, 0, 1, 2, 0, 4, 5}, downRight.data());
        assertArrayEquals(new float[] {5, 6, 0, 8, 9, 0, 0, 0, 0}, ImageOps.padCrop(x, 1, 2, 2).data());
        assertArrayEquals(new float[] {0, 0, 0, 0, 0, 0, 0, 0, 1}, ImageOps.padCrop(x, 2, 0, 0).data());
        assertArrayEquals(new float[] {0, 0, 0, 2, 3, 0, 5, 6, 0}, ImageOps.padCrop(x, 1, 0, 2).data());
        assertThrows(IllegalArgumentException.class, () -> ImageOps.padCrop(x, 1, 3, 0));
    }

    @Test
    @DisplayName("bilinear resize of a constant image is constant, enlarging and shrinking")
    void resizeConstant() {
        float[] data = new float[2 * 7 * 5];
        Arrays.fill(data, 0.3f);
        Image x = new Image(2, 7, 5, data);
        for (int[] size : new int[][] {{11, 13}, {3, 2}, {1, 1}, {7, 9}, {28, 28}}) {
            Image y = ImageOps.resize(x, size[0], size[1]);
            assertEquals(2, y.channels());
            assertEquals(size[0], y.height());
            assertEquals(size[1], y.width());
            for (float v : y.data()) {
                assertEquals(0.3f, v, 1e-7f);
            }
        }
    }

    @Test
    @DisplayName("bilinear 2x2 to 4x4 matches hand-computed half-pixel interpolation (and PIL)")
    void resizeUp() {
        // x = 0.25 and 0.75 of the way between pixel centres; the outer quarter clamps to the edge
        Image y = ImageOps.resize(image(1, 2, 2, 0, 1, 2, 3), 4, 4);
        assertArrayEquals(new float[] {
                0.0f, 0.25f, 0.75f, 1.0f,
                0.5f, 0.75f, 1.25f, 1.5f,
                1.5f, 1.75f, 2.25f, 2.5f,
                2.0f, 2.25f, 2.75f, 3.0f}, y.data());
    }

    @Test
    @DisplayName("bilinear shrinking is antialiased as in PIL: a triangle filter twice as wide, renormalised at the edge")
    void resizeDown() {
        // output 0 is centred on input 1.0: weights 0.75, 0.75, 0.25 on pixels 0, 1, 2 (pixel -1 is outside), / 1.75
        // output 1 is centred on input 3.0: weights 0.25, 0.75, 0.75 on pixels 1, 2, 3 (pixel 4 is outside), / 1.75
        Image y = ImageOps.resize(image(1, 1, 4, 0, 4, 8, 12), 1, 2);
        assertArrayEquals(new float[] {(float) (5 / 1.75), (float) (16 / 1.75)}, y.data(), 1e-6f);
    }

    @Test
    @DisplayName("a 5x7 to 3x4 resize matches PIL 9.4 Image.resize(BILINEAR) on the same float image")
    void resizeMatchesPil() {
        float[] a = new float[35];
        for (int i = 0; i < 35; i++) {
            a[i] = (float) ((i % 11) / 10.0); // numpy: (np.arange(35).reshape(5, 7) % 11) / 10, as float32
        }
        Image y = ImageOps.resize(new Image(1, 5, 7, a), 3, 4);
        float[] pil = {0.35238096f, 0.50800002f, 0.35257146f, 0.37619048f, 0.48042330f, 0.50800002f, 0.51600003f,
                0.60317463f, 0.59931970f, 0.50799996f, 0.56628573f, 0.24897960f};
        assertArrayEquals(pil, y.data(), 1e-6f);
    }

    @Test
    @DisplayName("centre crop offsets are round((size - crop) / 2), half to even, as torchvision's")
    void centreCrop() {
        Image row7 = image(1, 1, 7, 0, 1, 2, 3, 4, 5, 6);
        assertArrayEquals(new float[] {2, 3, 4, 5}, ImageOps.centreCrop(row7, 1, 4).data()); // 1.5 -> 2
        Image row9 = image(1, 1, 9, 0, 1, 2, 3, 4, 5, 6, 7, 8);
        assertArrayEquals(new float[] {2, 3, 4, 5}, ImageOps.centreCrop(row9, 1, 4).data()); // 2.5 -> 2
    }

    @Test
    @DisplayName("eval geometry: an image of the input size is untouched; otherwise resize the short side, crop the centre")
    void evalGeometry() {
        Image x = random(1, 8, 8, 4);
        assertSame(x, ImageOps.resizeAndCentreCrop(x, 8, 8, 1.0));
        // 4x6 to 4x4 with crop_pct 1: the short side already fits, so only the centre columns 1..4 remain
        Image wide = random(1, 4, 6, 5);
        Image cropped = ImageTransform.eval(DataConfig.of(1, 4, 4, ZERO, ONE)).apply(wide);
        for (int y = 0; y < 4; y++) {
            for (int col = 0; col < 4; col++) {
                assertEquals(wide.get(0, y, col + 1), cropped.get(0, y, col));
            }
        }
        // crop_pct 0.5: 8x8 is already floor(4 / 0.5) = 8, so the result is the central 4x4 window at offset 2
        Image centre = ImageOps.resizeAndCentreCrop(x, 4, 4, 0.5);
        assertEquals(x.get(0, 2, 2), centre.get(0, 0, 0));
        assertEquals(x.get(0, 5, 5), centre.get(0, 3, 3));
        // 10x20 to 5x5: short side 10 -> 5, long side 20 -> 10, then columns from round(2.5) = 2
        Image tall = ImageOps.resizeAndCentreCrop(random(1, 10, 20, 6), 5, 5, 1.0);
        Image expected = ImageOps.centreCrop(ImageOps.resize(random(1, 10, 20, 6), 5, 10), 5, 5);
        assertArrayEquals(expected.data(), tall.data());
        assertEquals(5, tall.width());
    }

    @Test
    @DisplayName("ImageNet eval geometry: 300x400 at crop_pct 0.875 resizes to 256x341 and crops the central 224x224")
    void imagenetGeometry() {
        Image photo = random(3, 300, 400, 7);
        Image y = ImageTransform.eval(DataConfig.of(3, 224, 224, new double[3], new double[] {1, 1, 1})
                .withCropPct(0.875)).apply(photo);
        Image expected = ImageOps.centreCrop(ImageOps.resize(photo, 256, 341), 224, 224);
        assertEquals(3, y.channels());
        assertArrayEquals(expected.data(), y.data());
    }

    // --- training randomness ---

    @Test
    @DisplayName("training augmentation is a pure function of (seed, epoch, index)")
    void deterministic() {
        ImageTransform t = ImageTransform.train(PLAIN_8, Augmentation.of(2, 0.5));
        Image x = random(1, 8, 8, 8);
        for (int index = 0; index < 50; index++) {
            Image first = t.apply(x, 42, 3, index);
            t.apply(x, 42, 4, index); // other calls in between change nothing
            t.apply(x, 7, 3, index + 1);
            assertArrayEquals(first.data(), t.apply(x, 42, 3, index).data());
            assertArrayEquals(first.data(),
                    ImageTransform.train(PLAIN_8, Augmentation.of(2, 0.5)).apply(x, 42, 3, index).data());
        }
    }

    @Test
    @DisplayName("augmentations differ across epochs, seeds and indices (25 offsets x 2 flips = 50 outcomes)")
    void variesAcrossEpochs() {
        ImageTransform t = ImageTransform.train(PLAIN_8, Augmentation.of(2, 0.5));
        Image x = random(1, 8, 8, 9);
        int differentEpoch = 0;
        int differentSeed = 0;
        Set<String> outcomes = new HashSet<>();
        for (int index = 0; index < 100; index++) {
            float[] a = t.apply(x, 42, 0, index).data();
            differentEpoch += Arrays.equals(a, t.apply(x, 42, 1, index).data()) ? 0 : 1;
            differentSeed += Arrays.equals(a, t.apply(x, 43, 0, index).data()) ? 0 : 1;
            outcomes.add(Arrays.toString(a));
        }
        // a match has probability 1/50 per example: about 98 of 100 differ
        assertTrue(differentEpoch >= 90, "only " + differentEpoch + " of 100 differ between epochs");
        assertTrue(differentSeed >= 90, "only " + differentSeed + " of 100 differ between seeds");
        assertTrue(outcomes.size() >= 40, "only " + outcomes.size() + " distinct outcomes over 100 indices");
    }

    @Test
    @DisplayName("every training output is the eval image shifted by some offset in [0, 2p]^2, maybe mirrored")
    void augmentationIsShiftAndFlip() {
        int p = 2;
        ImageTransform t = ImageTransform.train(PLAIN_8, Augmentation.of(p, 0.5));
        Image x = random(1, 8, 8, 10);
        Set<String> used = new HashSet<>();
        int flips = 0;
        for (int index = 0; index < 400; index++) {
            float[] y = t.apply(x, 5, 0, index).data();
            String match = null;
            for (int top = 0; top <= 2 * p && match == null; top++) {
                for (int left = 0; left <= 2 * p && match == null; left++) {
                    Image shifted = ImageOps.padCrop(x, p, top, left);
                    if (Arrays.equals(y, shifted.data())) {
                        match = top + "," + left;
                    } else if (Arrays.equals(y, ImageOps.flipHorizontal(shifted).data())) {
                        match = top + "," + left + ",flipped";
                        flips++;
                    }
                }
            }
            assertTrue(match != null, "index " + index + " is no shift or mirror of the image");
            used.add(match);
        }
        assertEquals(50, used.size(), "all 25 offsets x 2 flips occur: " + used);
        assertTrue(flips > 150 && flips < 250, flips + " flips of 400 at p = 0.5");
    }

    @Test
    @DisplayName("flip probability 0 never flips, 1 always does; Augmentation.NONE equals eval")
    void flipProbabilityExtremes() {
        Image x = random(1, 8, 8, 11);
        ImageTransform eval = ImageTransform.eval(PLAIN_8);
        ImageTransform never = ImageTransform.train(PLAIN_8, Augmentation.DEFAULT.withFlipProbability(0));
        ImageTransform always = ImageTransform.train(PLAIN_8, Augmentation.DEFAULT.withFlipProbability(1));
        ImageTransform none = ImageTransform.train(PLAIN_8, Augmentation.NONE);
        for (int index = 0; index < 20; index++) {
            assertArrayEquals(eval.apply(x).data(), never.apply(x, 1, 2, index).data());
            assertArrayEquals(ImageOps.flipHorizontal(eval.apply(x)).data(), always.apply(x, 1, 2, index).data());
            assertArrayEquals(eval.apply(x).data(), none.apply(x, 1, 2, index).data());
        }
    }

    @Test
    @DisplayName("padding is black before normalising: a padded pixel becomes -mean / std")
    void paddingIsBlack() {
        DataConfig cfg = DataConfig.of(1, 8, 8, new double[] {0.5}, new double[] {0.25});
        float[] white = new float[64];
        Arrays.fill(white, 1f);
        ImageTransform t = ImageTransform.train(cfg, Augmentation.of(4, 0));
        boolean sawPadding = false;
        for (int index = 0; index < 20; index++) {
            for (float v : t.apply(new Image(1, 8, 8, white), 0, 0, index).data()) {
                assertTrue(v == 2f || v == -2f, "pixel " + v);
                sawPadding |= v == -2f;
            }
        }
        assertTrue(sawPadding);
    }

    @Test
    @DisplayName("a training transform refuses the seedless apply(); an eval transform ignores (seed, epoch, index)")
    void seedlessApply() {
        Image x = random(1, 8, 8, 12);
        assertThrows(IllegalStateException.class, () -> ImageTransform.train(PLAIN_8, Augmentation.DEFAULT).apply(x));
        ImageTransform eval = ImageTransform.eval(PLAIN_8);
        assertArrayEquals(eval.apply(x).data(), eval.apply(x, 99, 5, 17).data());
        assertFalse(eval.isTraining());
    }

    @Test
    @DisplayName("augmentation parameters are checked")
    void augmentationChecks() {
        assertThrows(IllegalArgumentException.class, () -> Augmentation.of(-1, 0.5));
        assertThrows(IllegalArgumentException.class, () -> Augmentation.of(0, 1.5));
        assertThrows(IllegalArgumentException.class, () -> Augmentation.of(0, Double.NaN));
    }
}
