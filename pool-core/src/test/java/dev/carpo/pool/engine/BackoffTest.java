package dev.carpo.pool.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class BackoffTest {
    @Test
    void doublesFromTheInitialDelayUpToTheCap() {
        Backoff b = new Backoff(Duration.ofMillis(500), Duration.ofSeconds(3));
        assertThat(b.delay(0)).isEqualTo(Duration.ZERO);
        assertThat(b.delay(1)).isEqualTo(Duration.ofMillis(500));
        assertThat(b.delay(2)).isEqualTo(Duration.ofSeconds(1));
        assertThat(b.delay(3)).isEqualTo(Duration.ofSeconds(2));
        assertThat(b.delay(4)).isEqualTo(Duration.ofSeconds(3));
        assertThat(b.delay(Integer.MAX_VALUE)).isEqualTo(Duration.ofSeconds(3));
    }

    @Test
    void refusesACapBelowTheInitialDelay() {
        assertThatThrownBy(() -> new Backoff(Duration.ofSeconds(2), Duration.ofSeconds(1)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("initial <= max");
    }

    @Test
    void theCircuitOpensAtTheLimitAndAStartThatLivedResetsIt() {
        StartCircuit circuit = new StartCircuit(Duration.ofMillis(100), 3);
        assertThat(circuit.failed()).isFalse();
        assertThat(circuit.failed()).isFalse();
        assertThat(circuit.failed()).isTrue();
        circuit.succeeded();
        assertThat(circuit.failuresInARow()).isZero();
        assertThat(circuit.failed()).isFalse();
    }
}
