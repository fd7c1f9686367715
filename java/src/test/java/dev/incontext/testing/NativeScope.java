package dev.incontext.testing;

import org.bytedeco.javacpp.PointerScope;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/** Opens a JavaCPP {@link PointerScope} around each test, so the native memory a test allocates is freed after it. */
public final class NativeScope implements BeforeEachCallback, AfterEachCallback {
    private static final ExtensionContext.Namespace NS = ExtensionContext.Namespace.create(NativeScope.class);

    @Override
    public void beforeEach(ExtensionContext context) {
        context.getStore(NS).put("scope", new PointerScope());
    }

    @Override
    public void afterEach(ExtensionContext context) {
        PointerScope scope = context.getStore(NS).remove("scope", PointerScope.class);
        if (scope != null) {
            scope.close();
        }
    }
}
