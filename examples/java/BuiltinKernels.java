import dev.carpo.pool.KernelPools;
import dev.carpo.pool.LanguagePool;
import dev.carpo.pool.PoolOptions;

/** Pools of carpo's own kernels, carpo-lua (LuaJ) and carpo-java (JShell): nothing to install but the JDK. */
public class BuiltinKernels {
    public static void main(String[] args) throws Exception {
        try (KernelPools pools = KernelPools.create()) {
            LanguagePool lua = pools.createPool("lua", "carpo-lua", PoolOptions.builder().size(2).build());
            System.out.println(lua.execute("string.rep('ab', 3)").text());        // ababab
            LanguagePool java = pools.createPool("java", "carpo-java", PoolOptions.builder().size(1).build());
            System.out.println(java.execute("IntStream.rangeClosed(1, 10).sum()").text());   // 55
        }
    }
}
