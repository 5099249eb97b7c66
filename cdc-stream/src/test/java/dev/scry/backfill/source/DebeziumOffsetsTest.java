package dev.scry.backfill.source;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;

import org.junit.jupiter.api.Test;

import dev.scry.backfill.model.Lsn;
import dev.scry.backfill.model.Phase;

class DebeziumOffsetsTest {

    @Test
    void snapshotIsRunningUntilItsLastRecordOrCompletion() {
        assertThat(DebeziumOffsets.phase(Map.of("snapshot", "INITIAL", "last_snapshot_record", false))).isEqualTo(Phase.SNAPSHOT);
        assertThat(DebeziumOffsets.phase(Map.of("snapshot", "INITIAL", "last_snapshot_record", true))).isEqualTo(Phase.STREAMING);
        assertThat(DebeziumOffsets.phase(Map.of("snapshot", "INITIAL", "snapshot_completed", true))).isEqualTo(Phase.STREAMING);
        assertThat(DebeziumOffsets.phase(Map.of("lsn", 5L, "txId", 7L))).isEqualTo(Phase.STREAMING);
        assertThat(DebeziumOffsets.phase(Map.of("snapshot", "false"))).isEqualTo(Phase.STREAMING);
    }

    @Test
    void lsnPrefersTheLastCompletelyProcessedOne() {
        assertThat(DebeziumOffsets.lsn(Map.of("lsn", 100L, "lsn_proc", 200L))).isEqualTo(new Lsn(200));
        assertThat(DebeziumOffsets.lsn(Map.of("lsn", 100L))).isEqualTo(new Lsn(100));
        assertThat(DebeziumOffsets.lsn(Map.of("lsn", 100))).as("after a JSON round trip").isEqualTo(new Lsn(100));
        assertThat(DebeziumOffsets.lsn(Map.of())).isEqualTo(Lsn.ZERO);
    }
}
