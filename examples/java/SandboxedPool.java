import dev.carpo.pool.KernelLease;
import dev.carpo.pool.KernelPools;
import dev.carpo.pool.LanguagePool;
import dev.carpo.pool.PoolOptions;
import dev.carpo.pool.Sandbox;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * A pool of sandboxed kernels (bubblewrap: apt-get install bubblewrap): no network, a read-only and
 * a writable directory. Arguments: those two directories (default: new ones in a temporary
 * directory, removed at the end).
 */
public class SandboxedPool {
    public static void main(String[] args) throws Exception {
        Path scratch = args.length < 2 ? Files.createTempDirectory("sandboxed-pool-example") : null;
        Path datasets = args.length < 2 ? Files.createDirectory(scratch.resolve("datasets")) : Path.of(args[0]).toAbsolutePath();
        Path results = args.length < 2 ? Files.createDirectory(scratch.resolve("results")) : Path.of(args[1]).toAbsolutePath();
        Files.writeString(datasets.resolve("input.txt"), "3 apples, 4 pears");
        try (KernelPools pools = KernelPools.create()) {
            Sandbox box = Sandbox.builder()
                    .network(false)                        // the default: no network at all
                    .readOnly(datasets)                    // more paths the kernel may read
                    .writable(results)                     // and write, each at its own path
                    .build();
            LanguagePool py = pools.createPool("python", "python3",
                    PoolOptions.builder().size(1).sandbox(box).freshLeases(true).build());

            try (KernelLease k = py.lease()) {
                k.execute("import os, re, socket\ndata, results = " + py(datasets) + ", " + py(results));
                System.out.println("read:    " + k.execute("open(data + '/input.txt').read()").text());
                k.execute("n = sum(map(int, re.findall(r'\\d+', open(data + '/input.txt').read())))\n"
                        + "open(results + '/total.txt', 'w').write(f'{n} fruits')");
                System.out.println("wrote:   " + Files.readString(results.resolve("total.txt")) + " (read by the host)");
                System.out.println("write:   " + k.execute(attempt("open(data + '/input.txt', 'w')")).stdout().strip()
                        + " (in " + datasets.getFileName() + ")");
                System.out.println("network: " + k.execute(attempt("socket.create_connection(('1.1.1.1', 53), timeout=2)")).stdout().strip());
                String home = System.getProperty("user.home");
                System.out.println("home:    " + home + " visible: " + k.execute("os.path.exists(" + py(Path.of(home)) + ")").text());
            }
        } finally {
            if (scratch != null) {
                try (Stream<Path> files = Files.walk(scratch)) {
                    for (Path p : files.sorted(Comparator.reverseOrder()).toList()) Files.delete(p);
                }
            }
        }
    }

    /** Python that runs {@code statement} and prints what it raised, if anything. */
    private static String attempt(String statement) {
        return "try:\n    " + statement + "\n    print('allowed')\nexcept OSError as e:\n    print(type(e).__name__, e.strerror or e)";
    }

    /** A path as a Python string literal. */
    private static String py(Path path) {
        return "'" + path.toString().replace("\\", "\\\\").replace("'", "\\'") + "'";
    }
}
