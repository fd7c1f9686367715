package dev.incontext.util;

import java.util.Locale;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.DeviceOptional;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;

/** Turns a config's device name into tensor options, failing clearly when CUDA is asked for but absent. */
public final class Devices {
    private Devices() {}

    public static TensorOptions float32(String device) {
        String d = device.toLowerCase(Locale.ROOT);
        if (d.startsWith("cuda") && !torch.cuda_is_available()) {
            throw new IllegalArgumentException("device '" + device + "' requested, but CUDA is not available: this "
                    + "build uses the CPU libtorch (build with `mvn -Pgpu package` on a machine with an NVIDIA driver) "
                    + "or no GPU is visible. Use device=cpu.");
        }
        return new TensorOptions(torch.ScalarType.Float).device(new DeviceOptional(new Device(d)));
    }
}
