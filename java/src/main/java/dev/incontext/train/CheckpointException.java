package dev.incontext.train;

import java.nio.file.Path;

/**
 * A checkpoint (or a run directory's files) that cannot be used: missing, incomplete, corrupted or trained with an
 * incompatible configuration. The message names the file and says what to do; {@link #path()} is that file or
 * directory.
 */
public final class CheckpointException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;
    private final transient Path path;

    public CheckpointException(Path path, String message) {
        super(message);
        this.path = path;
    }

    public CheckpointException(Path path, String message, Throwable cause) {
        super(message, cause);
        this.path = path;
    }

    /** The file or directory the refusal is about. */
    public Path path() {
        return path;
    }
}
