package dev.scry.backfill.snapshot;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import dev.scry.backfill.model.ColumnSpec;
import dev.scry.backfill.model.TableId;
import dev.scry.backfill.model.TableSpec;
import dev.scry.backfill.sink.ShadowWriter;
import dev.scry.backfill.testing.Databases;
import dev.scry.backfill.testing.PgPair;
import dev.scry.backfill.throttle.RateLimit;
import dev.scry.backfill.throttle.Throttle;
import dev.scry.backfill.transform.TransformChain;
import dev.scry.backfill.transform.TransformConfig;

/** One table's COPY from a real source into a real shadow, with and without a transform touching it. */
class TableCopyIT {

    private static final String DDL = """
            CREATE TABLE public.plain (id int PRIMARY KEY, note text, amount numeric(10,2), at timestamptz);
            CREATE TABLE public.cards (id int PRIMARY KEY, number text NOT NULL);
            """;
    private static final TableSpec PLAIN = new TableSpec(new TableId("public", "plain"), List.of(
            new ColumnSpec("id", "integer", true, "int4", false),
            new ColumnSpec("note", "text", false, "text", false),
            new ColumnSpec("amount", "numeric(10,2)", false, "numeric", false),
            new ColumnSpec("at", "timestamp with time zone", false, "timestamptz", false)), List.of("id"));
    private static final TableSpec CARDS = new TableSpec(new TableId("public", "cards"), List.of(
            new ColumnSpec("id", "integer", true, "int4", false),
            new ColumnSpec("number", "text", true, "text", false)), List.of("id"));

    private static Databases db;

    @BeforeAll
    static void start() throws SQLException {
        db = PgPair.get().newDatabases("tablecopy_it");
        try (Connection src = db.source(); Statement st = src.createStatement()) {
            st.execute(DDL);
            st.execute("INSERT INTO public.plain SELECT i, 'note ' || i, i * 1.25, '2026-01-01 00:00+00'::timestamptz + i * interval '1 hour'"
                    + " FROM generate_series(1, 500) i");
            st.execute("INSERT INTO public.cards SELECT i, '4111-0000-0000-' || lpad(i::text, 4, '0') FROM generate_series(1, 300) i");
        }
        try (Connection dst = db.shadow(); Statement st = dst.createStatement()) {
            // The mask makes the shadow's column text, as it already is here.
            st.execute(DDL);
        }
    }

    @AfterAll
    static void stop() {
        db.close();
    }

    @Test
    void aTableNoTransformTouchesTravelsInBinaryWhileTheMaskedOneIsTransformed() throws SQLException {
        TransformChain chain = TransformChain.create(List.of(new TransformConfig("mask",
                Map.of("columns", List.of("public.cards.number"), "keep-last", "4"), "transforms[0]")), List.of(PLAIN, CARDS));

        TableCopy.Copied plain = copy(PLAIN, chain);
        TableCopy.Copied cards = copy(CARDS, chain);

        assertThat(plain.rows()).isEqualTo(500);
        assertThat(plain.binary()).as("a table no transform touches keeps binary COPY").isTrue();
        assertThat(rows(db.shadow(), "public.plain")).isEqualTo(rows(db.source(), "public.plain"));
        assertThat(cards.rows()).isEqualTo(300);
        assertThat(cards.binary()).as("the masked table's rows go through the transforms, in text").isFalse();
        assertThat(rows(db.shadow(), "public.cards")).hasSize(300).allMatch(r -> r.matches("\\d+\\|\\*{15}\\d{4}"))
                .contains("7|***************0007");
    }

    private static TableCopy.Copied copy(TableSpec table, TransformChain chain) throws SQLException {
        try (Connection src = db.source(); Connection dst = db.shadow()) {
            src.setAutoCommit(false);
            dst.setAutoCommit(false);
            TableCopy.Copied copied = TableCopy.copy(src, dst, ShadowWriter.forLoads(db.name()), TableCopy.Part.whole(table), chain,
                    new Throttle(RateLimit.UNLIMITED), () -> false, n -> { });
            dst.commit();
            src.commit();
            return copied;
        }
    }

    private static List<String> rows(Connection c, String table) throws SQLException {
        List<String> out = new ArrayList<>();
        try (c; Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT t::text FROM " + table + " t ORDER BY id")) {
            while (rs.next()) {
                out.add(rs.getString(1).replaceAll("^\\((\\d+),(.*)\\)$", "$1|$2"));
            }
        }
        return out;
    }
}
