package dev.incontext.ops;

/** A failure inside a native op that is not an argument error (for example, out of memory or a CUDA fault). */
public class NativeOpException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public NativeOpException(String message, Throwable cause) {
        super(message, cause);
    }
}
