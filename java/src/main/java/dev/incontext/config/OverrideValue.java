package dev.incontext.config;

/**
 * The text of a {@code key=value} override, kept as written until the key's type is known: a string key (a path
 * such as out_dir) takes it verbatim, so '#', ': ', spaces and non-ASCII pass through; any other key parses it as a
 * YAML scalar, list or mapping.
 */
record OverrideValue(String text) {
    /** The text as YAML; a malformed one is refused naming {@code path}. */
    Object parsed(String path) {
        try {
            return ConfigLoader.strictYaml().load(text);
        } catch (RuntimeException e) {
            String m = String.valueOf(e.getMessage());
            throw new ConfigException(path, "cannot read the value '" + text + "': " + m.lines().findFirst().orElse(m));
        }
    }
}
