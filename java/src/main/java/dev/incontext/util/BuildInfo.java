package dev.incontext.util;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Optional;
import java.util.Properties;
import java.util.stream.Stream;

/** What code and machine produced a result: for the provenance written beside every result. */
public final class BuildInfo {
    private BuildInfo() {}

    /** The library version from the jar manifest, or "dev" when running from classes. */
    public static String version() {
        String v = BuildInfo.class.getPackage().getImplementationVersion();
        return v == null ? "dev" : v;
    }

    /**
     * The git commit this build was made from, with "-dirty" when its tree had uncommitted changes (recorded at build
     * time in {@code dev/incontext/git.properties}); for a build without that record (a source archive), the commit
     * checked out where the code runs from (walking up from the classes' location, then from the working directory),
     * or "unknown" outside git.
     */
    public static String commit() {
        String built = BUILT_COMMIT;
        return built != null ? built : checkedOutCommit();
    }

    /** Where the build records its commit (java/pom.xml), relative to the classes' root. */
    static final String GIT_PROPERTIES = "dev/incontext/git.properties";
    private static final String BUILT_COMMIT = builtCommit();

    /** The build's commit from git.properties, or null when the build recorded none. */
    static String builtCommit() {
        try (InputStream in = BuildInfo.class.getResourceAsStream("/" + GIT_PROPERTIES)) {
            if (in == null) {
                return null;
            }
            Properties p = new Properties();
            p.load(in);
            String id = p.getProperty("git.commit.id.full", "").strip();
            if (!id.matches("[0-9a-f]{40}")) {
                return null;
            }
            return id + ("true".equals(p.getProperty("git.dirty", "").strip()) ? "-dirty" : "");
        } catch (IOException e) {
            return null;
        }
    }

    private static String checkedOutCommit() {
        for (Path start : candidates()) {
            for (Path p = start; p != null; p = p.getParent()) {
                Optional<String> c = readCommit(p.resolve(".git"));
                if (c.isPresent()) {
                    return c.get();
                }
            }
        }
        return "unknown";
    }

    private static Path[] candidates() {
        Path cwd = Path.of("").toAbsolutePath();
        try {
            Path code = Path.of(BuildInfo.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            return new Path[] {code, cwd};
        } catch (Exception e) {
            return new Path[] {cwd};
        }
    }

    private static Optional<String> readCommit(Path git) {
        try {
            if (Files.isRegularFile(git)) {        // a worktree: "gitdir: <path>"
                String line = Files.readString(git, StandardCharsets.UTF_8).strip();
                if (!line.startsWith("gitdir:")) {
                    return Optional.empty();
                }
                git = git.getParent().resolve(line.substring(7).strip());
            }
            Path head = git.resolve("HEAD");
            if (!Files.isRegularFile(head)) {
                return Optional.empty();
            }
            String h = Files.readString(head, StandardCharsets.UTF_8).strip();
            if (!h.startsWith("ref:")) {
                return Optional.of(h);
            }
            String ref = h.substring(4).strip();
            Path common = git;
            Path commonFile = git.resolve("commondir");
            if (Files.isRegularFile(commonFile)) {
                common = git.resolve(Files.readString(commonFile, StandardCharsets.UTF_8).strip()).normalize();
            }
            for (Path base : new Path[] {git, common}) {
                Path r = base.resolve(ref);
                if (Files.isRegularFile(r)) {
                    return Optional.of(Files.readString(r, StandardCharsets.UTF_8).strip());
                }
                Path packed = base.resolve("packed-refs");
                if (Files.isRegularFile(packed)) {
                    for (String line : Files.readAllLines(packed, StandardCharsets.UTF_8)) {
                        if (line.endsWith(" " + ref)) {
                            return Optional.of(line.substring(0, line.indexOf(' ')));
                        }
                    }
                }
            }
        } catch (IOException e) {
            return Optional.empty();
        }
        return Optional.empty();
    }

    private static volatile String codeFingerprint;

    /**
     * A fingerprint of the code that runs: the SHA-256 over the library's classes and native files (its jar, or every
     * file under its classes directory, by relative name and content). Unlike {@link #commit()} it changes with
     * uncommitted edits, so a cache keyed on it never serves results of other code.
     */
    public static String codeFingerprint() {
        String f = codeFingerprint;
        if (f == null) {
            try {
                Path code = Path.of(BuildInfo.class.getProtectionDomain().getCodeSource().getLocation().toURI());
                f = fingerprint(code);
            } catch (Exception e) {
                f = "unknown-" + System.nanoTime();   // nothing to compare: no cache hit across processes
            }
            codeFingerprint = f;
        }
        return f;
    }

    /**
     * The SHA-256 over a jar's bytes, or over every file under a directory (relative name and content, sorted) but the
     * build's commit record, which changes with a commit that changes no code.
     */
    static String fingerprint(Path code) throws IOException {
        MessageDigest md = Sha256.digest();
        if (Files.isRegularFile(code)) {
            md.update(Files.readAllBytes(code));
        } else {
            Path record = code.resolve(GIT_PROPERTIES);
            try (Stream<Path> files = Files.walk(code)) {
                for (Path p : files.filter(f -> Files.isRegularFile(f) && !f.equals(record)).sorted().toList()) {
                    md.update(code.relativize(p).toString().getBytes(StandardCharsets.UTF_8));
                    md.update((byte) 0);
                    md.update(Files.readAllBytes(p));
                }
            }
        }
        return Sha256.hex(md);
    }

    /** The CPU model name from /proc/cpuinfo, or the OS architecture where that file does not exist. */
    public static String cpu() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"), StandardCharsets.UTF_8)) {
                if (line.startsWith("model name")) {
                    return line.substring(line.indexOf(':') + 1).strip();
                }
            }
        } catch (IOException | RuntimeException e) {
            // fall through
        }
        return System.getProperty("os.arch");
    }
}
