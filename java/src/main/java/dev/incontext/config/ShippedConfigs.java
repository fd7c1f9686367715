package dev.incontext.config;

import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.FileSystem;
import java.nio.file.FileSystemAlreadyExistsException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/** The configs shipped in the jar, listed from the resource folder itself (a file tree in a build, a jar otherwise). */
final class ShippedConfigs {
    private static volatile List<String> names;

    private ShippedConfigs() {}

    static List<String> names() {
        List<String> n = names;
        if (n == null) {
            n = scan();
            names = n;
        }
        return n;
    }

    private static List<String> scan() {
        URL url = ShippedConfigs.class.getResource(ConfigLoader.SHIPPED + "defaults.yaml");
        if (url == null) {
            throw new IllegalStateException("the shipped configs are missing from the class path");
        }
        try {
            URI uri = url.toURI();
            if ("jar".equals(uri.getScheme())) {
                FileSystem fs;
                try {
                    fs = FileSystems.newFileSystem(uri, Map.of());
                } catch (FileSystemAlreadyExistsException e) {
                    fs = FileSystems.getFileSystem(uri);
                }
                return list(fs.getPath(ConfigLoader.SHIPPED));
            }
            return list(Path.of(uri).getParent());
        } catch (IOException | URISyntaxException e) {
            throw new IllegalStateException("cannot list the shipped configs: " + e.getMessage(), e);
        }
    }

    private static List<String> list(Path root) throws IOException {
        try (Stream<Path> files = Files.walk(root)) {
            return files.filter(f -> f.getFileName() != null && f.getFileName().toString().endsWith(".yaml"))
                    .map(f -> root.relativize(f).toString().replace('\\', '/'))
                    .map(n -> n.substring(0, n.length() - ".yaml".length()))
                    .sorted()
                    .toList();
        }
    }
}
