import dev.carpo.pool.kernel.*;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/** One kernel driven directly, without a pool: the layer under {@code LanguagePool}. */
public class OneKernel {
    public static void main(String[] args) throws Exception {
        try (KernelRuntime runtime = KernelRuntime.create()) {        // one I/O thread for all kernels
            KernelSpec spec = KernelSpecs.fromEnvironment().resolve("python3");  // name, spec dir, or kernel.json
            Kernel kernel = runtime.start(spec, KernelOptions.defaults()).get(60, TimeUnit.SECONDS);
            System.out.println("ready: " + kernel + " " + kernel.kernelInfo().path("language_info").path("version").asText());

            KernelExecution r = kernel.execute("import sys\nprint('hello from', sys.executable)\n6 * 7", Duration.ofSeconds(10));
            System.out.print("stdout: " + r.stdout());
            System.out.println("result: " + r.text() + "  (status " + r.status() + ", execution_count " + r.executionCount() + ")");

            KernelExecution err = kernel.execute("1 / 0", Duration.ofSeconds(10));
            System.out.println("error:  " + err.error());

            KernelExecution asked = kernel.execute(ExecuteRequest.builder("name = input('name? ')\nf'hi {name}'")
                    .input((prompt, password) -> "Ada").build()).get(10, TimeUnit.SECONDS);
            System.out.println("input:  " + asked.text());
        }   // every kernel shut down: shutdown_request, then SIGTERM, then SIGKILL
    }
}
