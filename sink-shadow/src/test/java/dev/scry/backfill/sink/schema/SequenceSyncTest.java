package dev.scry.backfill.sink.schema;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class SequenceSyncTest {

    private static SequenceSync.State state(long last, boolean called, long increment) {
        return new SequenceSync.State(last, called, increment);
    }

    @Test
    void aSourceAheadMovesTheShadowForward() {
        assertThat(SequenceSync.ahead(state(10, true, 1), state(5, true, 1))).isTrue();
        // Never called on the shadow yet: its next value is 1, the source has handed out 1.
        assertThat(SequenceSync.ahead(state(1, true, 1), state(1, false, 1))).isTrue();
    }

    @Test
    void aShadowAheadOrEqualIsNeverMovedBack() {
        assertThat(SequenceSync.ahead(state(5, true, 1), state(10, true, 1))).isFalse();
        assertThat(SequenceSync.ahead(state(5, true, 1), state(5, true, 1))).isFalse();
        assertThat(SequenceSync.ahead(state(1, false, 1), state(1, true, 1))).isFalse();
    }

    @Test
    void aDescendingSequenceIsAheadWhenLower() {
        assertThat(SequenceSync.ahead(state(-40, true, -1), state(-1, false, -1))).isTrue();
        assertThat(SequenceSync.ahead(state(-1, false, -1), state(-40, true, -1))).isFalse();
    }

    @Test
    void extremesDoNotOverflow() {
        assertThat(SequenceSync.ahead(state(Long.MIN_VALUE, false, 1), state(Long.MIN_VALUE, false, 1))).isFalse();
        assertThat(SequenceSync.ahead(state(Long.MAX_VALUE, true, 1), state(Long.MAX_VALUE, false, 1))).isTrue();
    }
}
