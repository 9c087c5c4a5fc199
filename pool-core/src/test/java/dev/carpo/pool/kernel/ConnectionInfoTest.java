package dev.carpo.pool.kernel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.carpo.pool.protocol.Channel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConnectionInfoTest {
    @TempDir
    Path tmp;

    @Test
    void connectionFileIsPrivateLoopbackAndReadableBack() throws Exception {
        Map<Channel, Integer> ports = PortReservations.reserve();
        try {
            ConnectionInfo info = ConnectionInfo.loopback(ports, "python3");
            Path file = info.write(tmp.resolve("runtime"), "abc");

            assertThat(file.getFileName().toString()).isEqualTo("kernel-abc.json");
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-------");
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file.getParent()))).isEqualTo("rwx------");
            assertThat(info.ip()).isEqualTo("127.0.0.1");
            assertThat(info.key()).matches("[0-9a-f]{64}");
            assertThat(info.endpoint(Channel.SHELL)).isEqualTo("tcp://127.0.0.1:" + ports.get(Channel.SHELL));

            ConnectionInfo back = ConnectionInfo.read(file);
            assertThat(back).isEqualTo(info);
            assertThat(Files.readString(file)).contains("\"signature_scheme\" : \"hmac-sha256\"").contains("\"hb_port\"");
        } finally {
            PortReservations.release(ports.values());
        }
    }

    @Test
    void everyKeyIsFresh() {
        Set<String> keys = new HashSet<>();
        for (int i = 0; i < 100; i++) {
            keys.add(ConnectionInfo.loopback(Map.of(Channel.SHELL, 1, Channel.CONTROL, 2, Channel.IOPUB, 3,
                    Channel.STDIN, 4, Channel.HEARTBEAT, 5), "k").key());
        }
        assertThat(keys).hasSize(100);
    }

    @Test
    void reservedPortsAreNeverHandedOutTwice() {
        Set<Integer> seen = new HashSet<>();
        java.util.List<Map<Channel, Integer>> held = new java.util.ArrayList<>();
        try {
            for (int i = 0; i < 40; i++) {
                Map<Channel, Integer> ports = PortReservations.reserve();
                held.add(ports);
                assertThat(new HashSet<>(ports.values())).hasSize(5);
                for (int p : ports.values()) {
                    assertThat(seen.add(p)).as("port %d handed out twice", p).isTrue();
                    assertThat(p).as("kernel port outside the OS's ephemeral range")
                            .isBetween(PortReservations.range().low(), PortReservations.range().high());
                }
            }
        } finally {
            held.forEach(p -> PortReservations.release(p.values()));
        }
    }

    @Test
    void kernelPortsStayClearOfTheEphemeralRange() throws Exception {
        Path linuxDefault = Files.writeString(tmp.resolve("default"), "32768\t60999\n");
        assertThat(PortReservations.PortRange.outsideEphemeral(linuxDefault)).isEqualTo(new PortReservations.PortRange(10000, 32767));

        Path lowEphemeral = Files.writeString(tmp.resolve("low"), "1024 49151\n");
        assertThat(PortReservations.PortRange.outsideEphemeral(lowEphemeral)).isEqualTo(new PortReservations.PortRange(49152, 65535));

        Path everything = Files.writeString(tmp.resolve("all"), "1024\t65535\n");
        assertThatThrownBy(() -> PortReservations.PortRange.outsideEphemeral(everything))
                .hasMessageContaining("1024-65535").hasMessageContaining(everything.toString());
        // No room outside it: kernels still start, on bind(0) ports as jupyter_client's.
        assertThat(PortReservations.PortRange.outsideEphemeralOrNull(everything)).isNull();

        assertThat(PortReservations.PortRange.outsideEphemeral(tmp.resolve("missing")))
                .isEqualTo(new PortReservations.PortRange(10000, 32767));
    }
}
