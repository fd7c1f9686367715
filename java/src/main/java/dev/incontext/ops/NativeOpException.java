package dev.incontext.ops;

/**
 * A native op failed on arguments that passed its checks: a CUDA kernel error, a numerical failure (a result that
 * overflowed), out of memory, or an internal error. Bad arguments raise {@link IllegalArgumentException} instead.
 */
public class NativeOpException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public NativeOpException(String message, Throwable cause) {
        super(message, cause);
    }
}
