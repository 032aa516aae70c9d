package dev.scalenet.data;

/** Which part of a dataset to open: the examples to train on, or the held-out ones to evaluate on. */
public enum Split {
    TRAIN,
    EVAL
}
