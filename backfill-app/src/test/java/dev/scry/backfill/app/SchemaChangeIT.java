package dev.scry.backfill.app;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.Statement;
import java.util.List;

import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.scry.backfill.testing.PgPair;

/**
 * ALTER TABLE on the source while the pipeline streams ({@link SchemaChanges}): followed on the
 * shadow where the stream reaches it.
 */
@ParameterizedClass
@EnumSource(Pipeline.Reader.class)
class SchemaChangeIT extends PipelineTest {

    @Parameter
    Pipeline.Reader reader;

    @BeforeEach
    void setUp() throws Exception {
        db = PgPair.get().newDatabases("schema_it");
        pipeline = new Pipeline(db, dir, List.of(SchemaChanges.TABLE), "batch: {max-rows: 100, max-delay-ms: 20}\n").streamingWith(reader);
        pipeline.source(SchemaChanges.DDL);
        Pipeline.Outcome snapshot = pipeline.run("snapshot");
        assertThat(snapshot.exitCode()).as(snapshot.err()).isZero();
    }

    private void catchUpAndCompare() throws Exception {
        Pipeline.Outcome cdc = pipeline.run("cdc", "--exit-when-caught-up");
        assertThat(cdc.exitCode()).as(cdc.err()).isZero();
        pipeline.assertShadowEqualsSource("public.items");
        pipeline.assertVerifyEqual();
    }

    private String shadowType(String column) throws Exception {
        try (Connection c = db.shadow(); Statement st = c.createStatement();
             var rs = st.executeQuery("SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'items'::regclass"
                     + " AND attname = '" + column + "' AND NOT attisdropped")) {
            return rs.next() ? rs.getString(1) : null;
        }
    }

    @Test
    void addedColumnsWithAndWithoutDefaultAndChangesAroundThem() throws Exception {
        pipeline.source(SchemaChanges.ADDED_COLUMNS);
        catchUpAndCompare();
        assertThat(shadowType("status")).isEqualTo("text");
        assertThat(pipeline.shadowLong("SELECT count(*) FROM items WHERE status = 'active' AND created = '2024-02-29'")).isEqualTo(492);
        // The stream adds the columns without their defaults (every later row arrives with its value);
        // the drift check, which cdc runs at start, may have made them the source's by now, and
        // nothing else may: the shadow never has a default of its own.
        String defaults = "SELECT coalesce(string_agg(a.attname || ' ' || pg_get_expr(d.adbin, d.adrelid), ', ' ORDER BY a.attname), '')"
                + " FROM pg_attrdef d JOIN pg_attribute a ON (a.attrelid, a.attnum) = (d.adrelid, d.adnum) WHERE d.adrelid = 'items'::regclass";
        assertThat(pipeline.shadowText(defaults)).as("the shadow's defaults: none, or the source's").isIn("", pipeline.sourceText(defaults));
    }

    @Test
    void droppedColumnAndWideningTypeChanges() throws Exception {
        pipeline.source(SchemaChanges.DROPPED_AND_WIDENED);
        catchUpAndCompare();
        assertThat(shadowType("note")).isNull();
        assertThat(shadowType("qty")).isEqualTo("bigint");
        assertThat(shadowType("name")).isEqualTo("character varying(40)");
        assertThat(shadowType("price")).isEqualTo("numeric(12,2)");
    }

    @Test
    void typeChangeThatCouldAlterValuesStopsNamingTheColumnThenResumesOnceTheShadowMatches() throws Exception {
        pipeline.source(
                "UPDATE items SET qty = 0 WHERE id = 3",
                "ALTER TABLE items ALTER COLUMN qty TYPE text USING 'q' || qty",
                "UPDATE items SET name = 'after' WHERE id = 4");
        Pipeline.Outcome stopped = pipeline.run("cdc", "--exit-when-caught-up");
        assertThat(stopped.exitCode()).isEqualTo(1);
        assertThat(stopped.err()).contains("column qty of public.items changed type from integer to text")
                .contains("Apply the same ALTER");
        // Nothing from the change on was applied (the checkpoint is before the batch that holds it).
        assertThat(pipeline.shadowLong("SELECT count(*) FROM items WHERE name = 'after'")).isZero();

        try (Connection c = db.shadow(); Statement st = c.createStatement()) {
            st.execute("ALTER TABLE items ALTER COLUMN qty TYPE text USING 'q' || qty");
        }
        Pipeline.Outcome resumed = pipeline.run("resume", "--exit-when-caught-up");
        assertThat(resumed.exitCode()).as(resumed.err()).isZero();
        pipeline.assertShadowEqualsSource("public.items");
        pipeline.assertVerifyEqual();
    }
}
