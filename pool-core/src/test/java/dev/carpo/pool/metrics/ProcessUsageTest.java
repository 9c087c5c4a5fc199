package dev.carpo.pool.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class ProcessUsageTest {
    @Test
    void parsesResidentMemoryFromStatus() {
        assertThat(ProcessUsage.residentBytes("Name:\tpython3\nVmPeak:\t  9000 kB\nVmRSS:\t   71588 kB\nThreads:\t4\n"))
                .isEqualTo(71_588L * 1024);
        assertThat(ProcessUsage.residentBytes("Name:\tzombie\n")).isEqualTo(-1);
    }

    @Test
    void parsesCpuTicksEvenWithSpacesAndParensInTheName() {
        // Fields after the name: state(3) … utime(14)=250 stime(15)=50.
        String stat = "4242 (odd) name)) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 4 0 1000 1000000 500";
        assertThat(ProcessUsage.cpuSeconds(stat, 100)).isEqualTo(3.0);
    }

    @Test
    void readsThisJvmAndReportsUnknownForAMissingProcess() {
        ProcessUsage self = ProcessUsage.read(ProcessHandle.current().pid());
        assertThat(self.residentBytes()).isGreaterThan(1_000_000);
        assertThat(self.cpuSeconds()).isGreaterThan(0);
        assertThat(ProcessUsage.read(-1)).isEqualTo(ProcessUsage.UNKNOWN);
        assertThat(ProcessUsage.read(Integer.MAX_VALUE)).isEqualTo(ProcessUsage.UNKNOWN);
    }
}
