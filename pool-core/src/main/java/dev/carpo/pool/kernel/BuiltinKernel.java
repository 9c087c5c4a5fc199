package dev.carpo.pool.kernel;

import java.util.List;

/**
 * A kernel carpo serves itself (a child JVM running carpo's kernel side), found by name with no
 * install: {@link KernelSpecs} lists every one on the classpath (a {@link java.util.ServiceLoader}
 * service) after the kernelspecs on Jupyter's path, which win on a name clash.
 *
 * <p>Example: {@code KernelSpecs.fromEnvironment().find("carpo-lua")} starts
 * {@code java -cp <carpo's classpath> dev.carpo.pool.lua.LuaKernel {connection_file}}.
 */
public interface BuiltinKernel {
    /** The kernelspec name, such as {@code carpo-lua}. */
    String name();

    String displayName();

    /** language_info name, such as {@code lua}. */
    String language();

    /** The class whose {@code main(connectionFile)} serves the kernel. */
    String mainClass();

    /** JVM options for the kernel's JVM (small heaps start fast). */
    default List<String> jvmOptions() {
        return List.of("-XX:+UseSerialGC", "-Xss16m");
    }
}
