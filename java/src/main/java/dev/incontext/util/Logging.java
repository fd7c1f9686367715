package dev.incontext.util;

/**
 * The project's logging set-up for its command-line tools: JavaCPP's messages go through SLF4J, and Log4j 2 (which
 * the CLI's class path carries, through Spark) reads {@link #CONFIG} unless the JVM names its own configuration.
 * That configuration prints warnings and errors on standard error and silences JavaCPP's loader's version-mismatch
 * warning, which every start would print and which says nothing to act on. A library user's own logging set-up is
 * left alone: nothing here runs unless a tool calls it.
 */
public final class Logging {
    /** The CLI's Log4j 2 configuration, on the class path. */
    public static final String CONFIG = "dev/incontext/log4j2.properties";

    private Logging() {}

    /** Sets both properties where they are not set yet; call before anything loads JavaCPP or Log4j. */
    public static void useProjectConfiguration() {
        if (System.getProperty("org.bytedeco.javacpp.logger") == null) {
            System.setProperty("org.bytedeco.javacpp.logger", "slf4j");
        }
        if (System.getProperty("log4j2.configurationFile") == null) {
            System.setProperty("log4j2.configurationFile", CONFIG);
        }
    }
}
