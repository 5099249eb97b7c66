package dev.scry.backfill.source;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import dev.scry.backfill.error.PipelineFailure;
import dev.scry.backfill.model.ColumnSpec;
import dev.scry.backfill.model.Lsn;
import dev.scry.backfill.error.ReplicaIdentityFailure;
import dev.scry.backfill.model.Op;
import dev.scry.backfill.model.TableId;
import dev.scry.backfill.model.TableSelector;
import dev.scry.backfill.model.TableSpec;

/** pgoutput messages, written byte by byte as the server sends them, through the decoder and the converter. */
class PgOutputConverterTest {

    private static final TableId ORDERS = new TableId("public", "orders");
    private static final TableSpec SPEC = new TableSpec(ORDERS, List.of(new ColumnSpec("id", "bigint", true, "int8", false),
            new ColumnSpec("note", "text", false, "text", false)), List.of("id"));
    private static final Map<Integer, String> TYPES = Map.of(20, "int8", 25, "text");

    private final List<SourceItem<Object>> items = new ArrayList<>();

    @Test
    void aTransactionBecomesBeginChangesAndEndWithTheCommitsEndAsItsPosition() throws Exception {
        PgOutputConverter converter = converter(new PgOutputPosition(new Lsn(100), null, 0, null), null);

        feed(converter, begin(900, 7), relation(), insert(tuple("1", null)), commit(900, 950));

        assertThat(items).extracting(SourceItem::kind).containsExactly(SourceItem.Kind.BEGIN, SourceItem.Kind.CHANGE, SourceItem.Kind.END);
        assertThat(items.get(0).transactionId()).isEqualTo("7");
        assertThat(items.get(1).change().op()).isEqualTo(Op.INSERT);
        assertThat(items.get(1).change().after().value("id")).isEqualTo("1");
        assertThat(items.get(1).change().after().value("note")).isNull();
        // Inside the transaction the position stays where the last one ended; after it, at its end.
        assertThat(items.get(1).positionSource().get().lsn()).isEqualTo(new Lsn(100));
        assertThat(items.get(2).positionSource().get().lsn()).isEqualTo(new Lsn(950));
        assertThat(PgOutputPosition.read(items.get(2).positionSource().get().offset()).inside()).isNull();
    }

    @Test
    void aCapturedSchemaChangeIsAnEventAmongTheRowsThatKnowsThePositionRightBeforeIt() throws Exception {
        PgOutputConverter converter = converter(new PgOutputPosition(new Lsn(100), null, 0, null), null);

        feed(converter, begin(900, 7), relation(), insert(tuple("1", "a")), message(DdlCapture.PREFIX, 640, "{\"tag\":\"ALTER TABLE\"}"),
                insert(tuple("2", "b")), commit(900, 950));

        List<SourceItem<Object>> changes = items.stream().filter(i -> i.kind() == SourceItem.Kind.CHANGE).toList();
        assertThat(changes).extracting(i -> i.change().op()).containsExactly(Op.INSERT, Op.SCHEMA, Op.INSERT);
        assertThat(changes.get(1).change().schema().lsn()).isEqualTo(new Lsn(640));
        assertThat(changes.get(1).change().schema().content()).isEqualTo("{\"tag\":\"ALTER TABLE\"}");
        // Stopping there keeps the first row and resumes at the schema change itself.
        assertThat(PgOutputPosition.read(changes.get(1).change().schema().before().offset()).inside())
                .isEqualTo(new PgOutputPosition.Inside(new Lsn(900), 2, 0));
    }

    @Test
    void anUpdateLeavingAToastedValueSendsNoValueForIt() throws Exception {
        PgOutputConverter converter = converter(new PgOutputPosition(new Lsn(100), null, 0, null), null);

        feed(converter, begin(900, 7), relation(), update(null, tuple("1", UNCHANGED)), commit(900, 950));

        var after = items.get(1).change().after();
        assertThat(items.get(1).change().op()).isEqualTo(Op.UPDATE);
        assertThat(after.isUnchanged(1)).isTrue();
        assertThat(after.hasUnchanged()).isTrue();
    }

    @Test
    void aValueLeftUnsentIsTakenFromTheWholeOldRowWhereOneIsSent() throws Exception {
        PgOutputConverter converter = converter(new PgOutputPosition(new Lsn(100), null, 0, null), null);

        feed(converter, begin(900, 7), relation(), update('O', tuple("1", "old large value"), tuple("2", UNCHANGED)), commit(900, 950));

        // A key change under REPLICA IDENTITY FULL: the new row is complete, nothing is left to fill in on the shadow.
        assertThat(items.get(2).change().op()).isEqualTo(Op.INSERT);
        assertThat(items.get(2).change().after().hasUnchanged()).isFalse();
        assertThat(items.get(2).change().after().value("note")).isEqualTo("old large value");
    }

    @Test
    void aChangeOfKeyBecomesADeleteOfTheOldKeyAndAnInsert() throws Exception {
        PgOutputConverter converter = converter(new PgOutputPosition(new Lsn(100), null, 0, null), null);

        feed(converter, begin(900, 7), relation(), update(tuple("1", null), tuple("2", "moved")),
                update(tuple("3", null), tuple("3", "same key, sent because it is TOASTed")), commit(900, 950));

        assertThat(items.get(1).change().op()).isEqualTo(Op.DELETE);
        assertThat(items.get(1).change().key().columns()).containsExactly("id");
        assertThat(items.get(1).change().key().value("id")).isEqualTo("1");
        assertThat(items.get(2).change().op()).isEqualTo(Op.INSERT);
        assertThat(items.get(2).change().after().value("id")).isEqualTo("2");
        assertThat(items.get(3).change().op()).isEqualTo(Op.UPDATE);
    }

    @Test
    void resumingInsideATransactionSkipsTheChangesAlreadyApplied() throws Exception {
        // Applied before: the first row message, and the first half (the DELETE) of the second, a key change.
        PgOutputPosition inside = new PgOutputPosition(new Lsn(100), new PgOutputPosition.Inside(new Lsn(900), 2, 1), 0, null);
        PgOutputConverter converter = converter(inside, null);

        feed(converter, begin(900, 7), relation(), insert(tuple("1", "a")), update(tuple("1", null), tuple("5", "b")),
                insert(tuple("6", "c")), commit(900, 950));

        assertThat(items).filteredOn(i -> i.kind() == SourceItem.Kind.CHANGE).extracting(i -> i.change().op() + " "
                + i.change().after().value("id")).containsExactly("INSERT 5", "INSERT 6");
        PgOutputPosition last = PgOutputPosition.read(items.get(2).positionSource().get().offset());
        assertThat(last.inside()).isEqualTo(new PgOutputPosition.Inside(new Lsn(900), 3, 1));
    }

    @Test
    void resumingInsideATransactionTheSlotDoesNotSendFirstIsRefused() throws Exception {
        PgOutputPosition inside = new PgOutputPosition(new Lsn(100), new PgOutputPosition.Inside(new Lsn(800), 2, 1), 0, null);
        PgOutputConverter converter = converter(inside, null);

        assertThatThrownBy(() -> feed(converter, begin(900, 7))).isInstanceOf(PipelineFailure.class)
                .hasMessageContaining("the slot no longer matches the checkpoint");
    }

    @Test
    void changesAlreadyInPartsCopiedLateAreSkippedUntilTheirCopyPosition() throws Exception {
        SnapshotOverlap overlap = new SnapshotOverlap(new Lsn(2000),
                Map.of(ORDERS, List.of(new SnapshotOverlap.Part(10L, 20L, new Lsn(2000)))));
        PgOutputConverter converter = converter(new PgOutputPosition(new Lsn(100), null, 0, new Lsn(2000)), overlap);

        feed(converter, begin(900, 7), relation(), insert(tuple("15", "in the late part")), insert(tuple("25", "outside it")),
                delete(tuple("12", null)), commit(900, 950));
        feed(converter, begin(2100, 8), insert(tuple("16", "after the copy")), commit(2100, 2150));

        assertThat(items).filteredOn(i -> i.kind() == SourceItem.Kind.CHANGE)
                .extracting(i -> i.change().op() + " " + (i.change().after() == null ? i.change().key().value("id") : i.change().after().value("id")))
                .containsExactly("INSERT 25", "INSERT 16");
        // The offset says so while the position is before the copy position, and not after.
        assertThat(items.get(items.size() - 4).positionSource().get().offset()).containsKey(PgOutputPosition.OVERLAP_UNTIL);
        assertThat(items.get(items.size() - 1).positionSource().get().offset()).doesNotContainKey(PgOutputPosition.OVERLAP_UNTIL);
    }

    @Test
    void aKeylessChangeWithoutItsWholeOldRowStopsThePipelineNamingTheTable() throws Exception {
        PgOutputConverter converter = keyless(new PgOutputPosition(new Lsn(100), null, 0, null), null);

        // What a partition with REPLICA IDENTITY FULL sends through a partitioned table with DEFAULT:
        // the whole old row, marked as a key.
        assertThatThrownBy(() -> feed(converter, begin(900, 7), relation(false, false),
                update('K', tuple("1", "a"), tuple("1", "b")))).isInstanceOfSatisfying(ReplicaIdentityFailure.class,
                        e -> assertThat(e.table()).isEqualTo(ORDERS)).hasMessageContaining("arrived without its whole old row");
    }

    @Test
    void changesOfATableCopiedAgainWholeAreSkippedUnreadUntilItsCopyPosition() throws Exception {
        SnapshotOverlap overlap = new SnapshotOverlap(new Lsn(2000), Map.of(ORDERS, List.of(new SnapshotOverlap.Part(null, null, new Lsn(2000)))));
        PgOutputConverter converter = keyless(new PgOutputPosition(new Lsn(100), null, 0, new Lsn(2000)), overlap);

        feed(converter, begin(900, 7), relation(false, false), update('K', tuple("1", "a"), tuple("1", "b")),
                delete(tuple("1", "b")), insert(tuple("2", "c")), commit(900, 950));
        feed(converter, begin(2100, 8), update('O', tuple("2", "c"), tuple("2", "d")), commit(2100, 2150));

        assertThat(items).filteredOn(i -> i.kind() == SourceItem.Kind.CHANGE)
                .extracting(i -> i.change().op() + " " + i.change().after().value("note")).containsExactly("UPDATE d");
    }

    @Test
    void aDeleteWhoseIdentityColumnsMissTheKeyStopsThePipeline() throws Exception {
        PgOutputConverter converter = converter(new PgOutputPosition(new Lsn(100), null, 0, null), null);

        // REPLICA IDENTITY USING INDEX on (note), set behind the pipeline's back: the key would arrive NULL.
        assertThatThrownBy(() -> feed(converter, begin(900, 7), relation(false, true), delete(tuple(null, "a"))))
                .isInstanceOf(ReplicaIdentityFailure.class).hasMessageContaining("arrived with the replica identity columns [note]"
                        + " instead of its key [id]");
    }

    @Test
    void tablesNotTrackedAreSkippedButOneAPatternMatchesStopsThePipeline() throws Exception {
        PgOutputConverter skipping = new PgOutputConverter(Map.of(), List.of(), TYPES, new PgOutputPosition(new Lsn(100), null, 0, null), null, null);
        feed(skipping, begin(900, 7), relation(), insert(tuple("1", "a")), commit(900, 950));
        assertThat(items).extracting(SourceItem::kind).containsExactly(SourceItem.Kind.BEGIN, SourceItem.Kind.END);

        PgOutputConverter strict = new PgOutputConverter(Map.of(), List.of(TableSelector.parse("public.*")), TYPES,
                new PgOutputPosition(new Lsn(100), null, 0, null), null, null);
        assertThatThrownBy(() -> feed(strict, begin(900, 7), relation(), insert(tuple("1", "a"))))
                .isInstanceOf(PipelineFailure.class).hasMessageContaining("before the pipeline had copied that table");
    }

    @Test
    void aRelationDescribedAgainUnchangedKeepsItsLayout() throws Exception {
        PgOutputConverter converter = converter(new PgOutputPosition(new Lsn(100), null, 0, null), null);

        feed(converter, begin(900, 7), relation(), insert(tuple("1", "a")), relation(), insert(tuple("2", "b")), commit(900, 950));

        assertThat(items.get(1).change().after().columns()).isSameAs(items.get(2).change().after().columns());
        assertThat(items.get(1).change().after().sourceTypes()).containsExactly("int8", "text");
    }

    @Test
    void positionsRoundTripThroughTheirOffset() {
        PgOutputPosition p = new PgOutputPosition(new Lsn(123), new PgOutputPosition.Inside(new Lsn(456), 7, 2), 99, new Lsn(789));
        assertThat(PgOutputPosition.read(p.offset())).isEqualTo(p);
        assertThat(PgOutputPosition.readable(p.offset())).isTrue();
        assertThat(PgOutputPosition.readable(Map.of("lsn", 5L))).isTrue();
        assertThat(PgOutputPosition.readable(Map.of("lsn", 5L, "lsn_proc", 5L, "txId", 3L))).isFalse();
        PgOutputPosition onTimeline = p.onTimeline(3);
        assertThat(PgOutputPosition.read(onTimeline.offset())).isEqualTo(onTimeline);
        assertThat(PgOutputPosition.read(Map.of("lsn", 5L)).timeline()).as("unknown before a stream ran").isZero();
    }

    @Test
    void everyPositionAStreamMakesCarriesItsTimeline() throws Exception {
        PgOutputConverter converter = converter(new PgOutputPosition(new Lsn(100), null, 0, null).onTimeline(2), null);
        feed(converter, begin(900, 7), relation(), insert(tuple("1", null)), commit(900, 950));
        assertThat(items).isNotEmpty().allSatisfy(item -> assertThat(item.positionSource().get().offset()).containsEntry("timeline", 2));
        assertThat(converter.heartbeat(new Lsn(2000)).positionSource().get().offset()).containsEntry("timeline", 2);
    }

    private PgOutputConverter converter(PgOutputPosition start, SnapshotOverlap overlap) {
        return new PgOutputConverter(Map.of(ORDERS, SPEC), List.of(), TYPES, start, overlap, null);
    }

    private PgOutputConverter keyless(PgOutputPosition start, SnapshotOverlap overlap) {
        return new PgOutputConverter(Map.of(ORDERS, new TableSpec(ORDERS, SPEC.columns(), List.of())), List.of(), TYPES, start, overlap, null);
    }

    private void feed(PgOutputConverter converter, byte[]... messages) {
        for (byte[] m : messages) {
            converter.convert(ByteBuffer.wrap(m), items);
        }
    }

    @Test
    void aChunkLeavesOutRowsItsSnapshotDidNotSeeChangedAndAppliesTheRestWithItsControl() throws Exception {
        Watermarks watermarks = new Watermarks("p");
        PgOutputConverter converter = new PgOutputConverter(Map.of(ORDERS, SPEC), List.of(), TYPES,
                new PgOutputPosition(new Lsn(100), null, 0, null), null, watermarks);
        Watermarks.Mark start = watermarks.startCopy(ORDERS, List.of("id"), true, Map.of());
        feed(converter, begin(900, 7), watermark(start), commit(900, 950));
        assertThat(items).extracting(SourceItem::kind).containsExactly(SourceItem.Kind.BEGIN, SourceItem.Kind.CONTROL, SourceItem.Kind.END);
        assertThat(items.get(1).control().details()).as("the copy starts on an emptied table").containsEntry("empty", true);
        items.clear();

        // Transaction 20 changed row 1 and the snapshot saw it; 30 changed row 2 and it did not; 31 left a value of row 3 unsent.
        feed(converter, begin(1000, 20), relation(), update(null, tuple("1", "seen")), commit(1000, 1050),
                begin(1100, 30), update(null, tuple("2", "newer")), commit(1100, 1150),
                begin(1200, 31), update(null, tuple("3", UNCHANGED)), commit(1200, 1250));
        items.clear();
        Watermarks.Mark chunk = watermarks.chunk(new Watermarks.Chunk(ORDERS, List.of("id", "note"), List.of("int8", "text"), List.of("id"),
                List.of(new String[] {"1", "seen"}, new String[] {"2", "older"}, new String[] {"3", "x"}, new String[] {"4", "d"}), null,
                false, XidSnapshot.parse("25:30:"), Map.of("cursor", List.of("4"))));
        feed(converter, begin(1300, 40), watermark(chunk), commit(1300, 1350));

        assertThat(items).filteredOn(i -> i.kind() == SourceItem.Kind.CHANGE).extracting(i -> i.change().after().value("id"))
                .containsExactly("1", "4");
        assertThat(items).filteredOn(i -> i.kind() == SourceItem.Kind.CHANGE).extracting(i -> i.change().op()).containsOnly(Op.READ);
        assertThat(items.get(items.size() - 2).control().action()).isEqualTo(dev.scry.backfill.model.TableControl.Action.CHUNK_COPIED);
        assertThat(chunk.done()).as("done once committed").isNotDone();
        watermarks.committed(List.of(items.get(items.size() - 2).control()));
        Watermarks.Outcome outcome = chunk.done().get();
        assertThat(outcome.applied()).isEqualTo(2);
        assertThat(outcome.dropped()).isEqualTo(1);
        assertThat(outcome.requeued()).containsExactly(List.of("3"));
    }

    @Test
    void aChunkWhoseSnapshotMissesATransactionStreamedBeforeTheCopyStartedIsReadAgain() throws Exception {
        Watermarks watermarks = new Watermarks("p");
        PgOutputConverter converter = new PgOutputConverter(Map.of(ORDERS, SPEC), List.of(), TYPES,
                new PgOutputPosition(new Lsn(100), null, 0, null), null, watermarks);
        Watermarks.Mark start = watermarks.startCopy(ORDERS, List.of("id"), false, Map.of());
        // Transaction 12 came out of the stream before the start, yet the chunk's snapshot still lists it as running.
        feed(converter, begin(800, 12), relation(), insert(tuple("9", "a")), commit(800, 850), begin(900, 13), watermark(start),
                commit(900, 950));
        Watermarks.Mark chunk = watermarks.chunk(new Watermarks.Chunk(ORDERS, List.of("id", "note"), List.of("int8", "text"),
                List.of("id"), List.<String[]>of(), null, false, XidSnapshot.parse("12:20:12"), Map.of()));
        items.clear();
        feed(converter, begin(1000, 21), watermark(chunk), commit(1000, 1050));

        assertThat(chunk.done().get().retry()).isTrue();
        assertThat(items).extracting(SourceItem::kind).doesNotContain(SourceItem.Kind.CONTROL, SourceItem.Kind.CHANGE);
    }

    @Test
    void aRemovedTablesChangesAreIgnoredAndAnotherPipelinesWatermarksSkipped() throws Exception {
        Watermarks watermarks = new Watermarks("p");
        PgOutputConverter converter = new PgOutputConverter(Map.of(ORDERS, SPEC), List.of(TableSelector.parse("public.*")), TYPES,
                new PgOutputPosition(new Lsn(100), null, 0, null), null, watermarks);
        Watermarks.Mark remove = watermarks.remove(ORDERS);
        feed(converter, begin(900, 7), message("other:" + remove.content().substring(2)), watermark(remove), commit(900, 950),
                begin(1000, 8), relation(), insert(tuple("1", "a")), commit(1000, 1050));

        assertThat(items).extracting(SourceItem::kind).containsExactly(SourceItem.Kind.BEGIN, SourceItem.Kind.SKIP,
                SourceItem.Kind.CONTROL, SourceItem.Kind.END, SourceItem.Kind.BEGIN, SourceItem.Kind.END);
    }

    @Test
    void xidVisibilityFollowsTheSnapshotAcrossWraparound() {
        XidSnapshot s = XidSnapshot.parse("4294967290:4294967300:4294967295");
        assertThat(s.visible((int) 4294967289L)).isTrue();
        assertThat(s.visible((int) 4294967295L)).as("running").isFalse();
        assertThat(s.visible((int) 4294967296L)).as("xid 0 of the next epoch, before xmax").isTrue();
        assertThat(s.visible((int) 4294967300L)).as("at xmax").isFalse();
    }

    private static byte[] watermark(Watermarks.Mark mark) throws IOException {
        return message(mark.content());
    }

    private static byte[] message(String content) throws IOException {
        return message(Watermarks.PREFIX, 0, content);
    }

    private static byte[] message(String prefix, long lsn, String content) throws IOException {
        return message('M', out -> {
            out.writeByte(1);
            out.writeLong(lsn);
            string(out, prefix);
            byte[] bytes = content.getBytes(StandardCharsets.UTF_8);
            out.writeInt(bytes.length);
            out.write(bytes);
        });
    }

    // --- the wire format (PostgreSQL documentation, "Logical Replication Message Formats") ---

    private static final String UNCHANGED = "\u0000unchanged";
    private static final int RELATION_ID = 16_384;

    private static byte[] begin(long finalLsn, int xid) throws IOException {
        return message('B', out -> {
            out.writeLong(finalLsn);
            out.writeLong(0);
            out.writeInt(xid);
        });
    }

    private static byte[] commit(long commitLsn, long endLsn) throws IOException {
        return message('C', out -> {
            out.writeByte(0);
            out.writeLong(commitLsn);
            out.writeLong(endLsn);
            out.writeLong(0);
        });
    }

    private static byte[] relation() throws IOException {
        return relation(true, false);
    }

    /** The relation with the replica identity flag on the columns given. */
    private static byte[] relation(boolean idIsIdentity, boolean noteIsIdentity) throws IOException {
        return message('R', out -> {
            out.writeInt(RELATION_ID);
            string(out, "public");
            string(out, "orders");
            out.writeByte('d');
            out.writeShort(2);
            out.writeByte(idIsIdentity ? 1 : 0);
            string(out, "id");
            out.writeInt(20);
            out.writeInt(-1);
            out.writeByte(noteIsIdentity ? 1 : 0);
            string(out, "note");
            out.writeInt(25);
            out.writeInt(-1);
        });
    }

    private static byte[] insert(byte[] tuple) throws IOException {
        return message('I', out -> {
            out.writeInt(RELATION_ID);
            out.writeByte('N');
            out.write(tuple);
        });
    }

    private static byte[] update(byte[] oldKey, byte[] tuple) throws IOException {
        return update('K', oldKey, tuple);
    }

    private static byte[] update(char oldKind, byte[] old, byte[] tuple) throws IOException {
        return message('U', out -> {
            out.writeInt(RELATION_ID);
            if (old != null) {
                out.writeByte(oldKind);
                out.write(old);
            }
            out.writeByte('N');
            out.write(tuple);
        });
    }

    private static byte[] delete(byte[] key) throws IOException {
        return message('D', out -> {
            out.writeInt(RELATION_ID);
            out.writeByte('K');
            out.write(key);
        });
    }

    private static byte[] tuple(String... values) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        DataOutputStream out = new DataOutputStream(bytes);
        out.writeShort(values.length);
        for (String v : values) {
            if (v == null) {
                out.writeByte('n');
            }
            else if (v.equals(UNCHANGED)) {
                out.writeByte('u');
            }
            else {
                byte[] text = v.getBytes(StandardCharsets.UTF_8);
                out.writeByte('t');
                out.writeInt(text.length);
                out.write(text);
            }
        }
        return bytes.toByteArray();
    }

    private interface Body {
        void write(DataOutputStream out) throws IOException;
    }

    private static byte[] message(char type, Body body) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        DataOutputStream out = new DataOutputStream(bytes);
        out.writeByte(type);
        body.write(out);
        return bytes.toByteArray();
    }

    private static void string(DataOutputStream out, String s) throws IOException {
        out.write(s.getBytes(StandardCharsets.UTF_8));
        out.writeByte(0);
    }
}
