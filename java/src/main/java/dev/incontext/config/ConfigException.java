package dev.incontext.config;

/** An invalid configuration: names the offending key (dotted path) and what is wrong with it. */
public class ConfigException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;
    private final String key;

    public ConfigException(String key, String problem) {
        super(key.isEmpty() ? problem : key + ": " + problem);
        this.key = key;
    }

    /** The dotted path of the offending key, e.g. {@code training.batch_size}. */
    public String key() {
        return key;
    }
}
