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
public abstract class BuiltinKernel {
    private final String name;
    private final String displayName;
    private final String language;
    private final Class<?> mainClass;

    /**
     * @param name the kernelspec name, such as {@code carpo-lua}
     * @param language language_info name, such as {@code lua}
     * @param mainClass the class whose {@code main(connectionFile)} serves the kernel
     */
    protected BuiltinKernel(String name, String displayName, String language, Class<?> mainClass) {
        this.name = name;
        this.displayName = displayName;
        this.language = language;
        this.mainClass = mainClass;
    }

    public final String name() {
        return name;
    }

    public final String displayName() {
        return displayName;
    }

    public final String language() {
        return language;
    }

    public final String mainClass() {
        return mainClass.getName();
    }

    /** JVM options for the kernel's JVM. */
    public List<String> jvmOptions() {
        return List.of("-XX:+UseSerialGC", "-Xss16m");
    }
}
