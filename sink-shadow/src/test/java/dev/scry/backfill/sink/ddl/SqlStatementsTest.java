package dev.scry.backfill.sink.ddl;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import org.junit.jupiter.api.Test;

class SqlStatementsTest {

    @Test
    void splitsAtSemicolonsOutsideQuotesCommentsAndDollarQuotes() {
        String sql = """
                -- a migration
                CREATE INDEX a ON t (x);
                COMMENT ON TABLE t IS 'it''s; here';
                CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $body$ SELECT 1; $body$;
                /* block; /* nested; */ still */ ALTER TABLE "odd;name" ADD COLUMN y int;
                SELECT E'back\\\\'';' ;
                """;

        List<String> statements = SqlStatements.split(sql);

        assertThat(statements).containsExactly("CREATE INDEX a ON t (x)", "COMMENT ON TABLE t IS 'it''s; here'",
                "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $body$ SELECT 1; $body$", "ALTER TABLE \"odd;name\" ADD COLUMN y int",
                "SELECT E'back\\\\'';'");
    }

    @Test
    void isolatesTheStatementOfTheLastFiredCommandSkippingRowsAndOtherDdl() {
        String sql = "INSERT INTO t VALUES (1); CREATE UNIQUE INDEX a ON t (x); ALTER ROLE r SET work_mem = '1MB';"
                + " CREATE OR REPLACE VIEW v AS SELECT 1; ALTER TABLE t ALTER COLUMN x SET NOT NULL";

        assertThat(SqlStatements.isolate(sql, List.of("CREATE INDEX"))).isEqualTo("CREATE UNIQUE INDEX a ON t (x)");
        assertThat(SqlStatements.isolate(sql, List.of("CREATE INDEX", "CREATE VIEW"))).isEqualTo("CREATE OR REPLACE VIEW v AS SELECT 1");
        assertThat(SqlStatements.isolate(sql, List.of("CREATE INDEX", "CREATE VIEW", "ALTER TABLE")))
                .isEqualTo("ALTER TABLE t ALTER COLUMN x SET NOT NULL");
    }

    @Test
    void aCommandRunInsideAFunctionOrDoBlockCannotBeIsolated() {
        assertThat(SqlStatements.isolate("DO $$ BEGIN EXECUTE 'CREATE INDEX a ON t (x)'; END $$", List.of("CREATE INDEX"))).isNull();
        assertThat(SqlStatements.isolate("SELECT make_index()", List.of("CREATE INDEX"))).isNull();
        assertThat(SqlStatements.isolate("CREATE INDEX a ON t (x)", List.of("CREATE INDEX", "CREATE INDEX"))).isNull();
    }

    @Test
    void commandTagsMatchTheStatementsTheyComeFrom() {
        assertThat(SqlStatements.matches("create constraint trigger g after insert on t", "CREATE TRIGGER")).isTrue();
        assertThat(SqlStatements.matches("CREATE OR REPLACE TRIGGER g", "CREATE TRIGGER")).isTrue();
        assertThat(SqlStatements.matches("COMMENT ON COLUMN t.x IS 'y'", "COMMENT")).isTrue();
        assertThat(SqlStatements.matches("CREATE TABLE p PARTITION OF t FOR VALUES IN (1)", "CREATE TABLE")).isTrue();
        assertThat(SqlStatements.matches("ALTER ROLE r", "ALTER TABLE")).isFalse();
        assertThat(SqlStatements.matches("CREATE TABLE x AS SELECT 1", "CREATE TABLE AS")).isFalse();
    }
}
