package dev.scry.backfill.source;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.LinkedHashMap;
import java.util.Map;

import org.junit.jupiter.api.Test;

import dev.scry.backfill.error.SetupException;
import dev.scry.backfill.model.Lsn;

class PositionCodecTest {

    private static final Lsn P = new Lsn(0x1_6B37_4D48L);

    @Test
    void aPgoutputBoundaryBecomesWhatTheEngineWritesAfterACommitThere() {
        Map<String, Object> pgoutput = new PgOutputPosition(P, null, 1_700_000_000_000_000L, null).offset();
        Map<String, Object> debezium = PositionCodec.forDebezium(pgoutput);
        assertThat(debezium).containsEntry("lsn", P.value()).containsEntry("lsn_proc", P.value()).containsEntry("lsn_commit", P.value())
                .containsEntry("ts_usec", 1_700_000_000_000_000L);
        assertThat(PositionCodec.pgoutput(debezium)).isFalse();
        assertThat(PositionCodec.boundary(debezium)).contains(P);
    }

    @Test
    void aDebeziumBoundaryBecomesThePgoutputRestartAndBackWithoutMoving() {
        Map<String, Object> engine = new LinkedHashMap<>(Map.of("lsn", P.value() - 40, "lsn_proc", P.value(), "lsn_commit", P.value(),
                "txId", 812, "ts_usec", 5L));
        Map<String, Object> marked = PositionCodec.debeziumBatchEnd(engine, true);
        Map<String, Object> pgoutput = PositionCodec.forPgOutput(marked);
        assertThat(PgOutputPosition.read(pgoutput).restart()).isEqualTo(P);
        assertThat(PgOutputPosition.read(pgoutput).inside()).isNull();
        assertThat(PositionCodec.commitMicros(pgoutput)).contains(5L);
        assertThat(PositionCodec.boundary(PositionCodec.forDebezium(pgoutput))).contains(P);
    }

    @Test
    void theCopySnapshotsOffsetIsABoundaryForBothReaders() {
        Map<String, Object> copy = PositionCodec.atBoundary(P);
        assertThat(PositionCodec.restart(copy)).isEqualTo(P);
        assertThat(PositionCodec.boundary(PositionCodec.forDebezium(copy))).contains(P);
        assertThat(PositionCodec.forPgOutput(copy)).isEqualTo(copy);
    }

    @Test
    void aPositionInsideASplitTransactionDoesNotChangeReader() {
        Map<String, Object> engine = PositionCodec.debeziumBatchEnd(new LinkedHashMap<>(Map.of("lsn", P.value(), "lsn_proc", P.value() - 8,
                "lsn_commit", P.value() - 800, "txId", 9)), false);
        assertThat(PositionCodec.boundary(engine)).isEmpty();
        assertThatThrownBy(() -> PositionCodec.forPgOutput(engine)).isInstanceOf(SetupException.class)
                .hasMessageContaining("stream.reader: debezium");
        Map<String, Object> inside = new PgOutputPosition(P, new PgOutputPosition.Inside(new Lsn(P.value() + 900), 3, 1), 0, null).offset();
        assertThatThrownBy(() -> PositionCodec.forDebezium(inside)).isInstanceOf(SetupException.class)
                .hasMessageContaining("stream.reader: pgoutput");
        // Each reader reads its own position inside a transaction as it always has.
        assertThat(PositionCodec.forDebezium(engine)).isEqualTo(engine);
        assertThat(PositionCodec.forPgOutput(inside)).isEqualTo(inside);
    }

    @Test
    void anOverlapIsCarriedInThePgoutputFormat() {
        Map<String, Object> extended = PositionCodec.withOverlapUntil(PositionCodec.atBoundary(P), new Lsn(P.value() + 100));
        assertThat(PositionCodec.overlapUntil(extended)).contains(new Lsn(P.value() + 100));
        assertThat(PositionCodec.restart(extended)).isEqualTo(P);
    }
}
