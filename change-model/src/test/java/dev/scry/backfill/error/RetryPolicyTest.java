package dev.scry.backfill.error;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;

import org.junit.jupiter.api.Test;

class RetryPolicyTest {

    @Test
    void backoffGrowsWithJitterUpToTheCeiling() {
        RetryPolicy policy = new RetryPolicy(Duration.ofMillis(100), Duration.ofMillis(1_000), Duration.ofHours(1));
        RetryPolicy.Attempts attempts = policy.start();
        for (int i = 0; i < 50; i++) {
            long delay = attempts.nextDelayMillis();
            assertThat(delay).isBetween(100L, 1_000L);
        }
        assertThat(attempts.failures()).isEqualTo(50);
    }

    @Test
    void givesUpOnceTheTotalTimeIsSpent() {
        RetryPolicy.Attempts attempts = new RetryPolicy(Duration.ofMillis(1), Duration.ofMillis(1), Duration.ZERO).start();
        assertThat(attempts.nextDelayMillis()).isEqualTo(-1);
    }

    @Test
    void rejectsNonsense() {
        assertThatThrownBy(() -> new RetryPolicy(Duration.ZERO, Duration.ofSeconds(1), Duration.ofSeconds(1)))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new RetryPolicy(Duration.ofSeconds(2), Duration.ofSeconds(1), Duration.ofSeconds(1)))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
