package dev.incontext.eval;

/**
 * Where a result came from: the run's config, the checkpoint and its SHA-256 (from its meta.yaml), the code's commit,
 * the device and CPU, and when it was made. Written beside every result.
 */
public record Provenance(String configYaml, String checkpoint, String checkpointSha256, String commit,
        String libraryVersion, String device, String cpu, String created) {}
