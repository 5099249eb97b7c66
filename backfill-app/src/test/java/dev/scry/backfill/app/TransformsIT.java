package dev.scry.backfill.app;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.scry.backfill.testing.PgPair;

/**
 * Every transform on snapshot rows and on streamed changes. The expected shadow rows are computed
 * on the source with SQL (pgcrypto's hmac for the hash), so each transform is checked against an
 * independent definition of what it should do.
 */
@ParameterizedClass
@EnumSource(Pipeline.Reader.class)
class TransformsIT extends PipelineTest {

    @Parameter
    Pipeline.Reader reader;

    private static final String KEY = "s3cret key ✓";

    /** The shadow's users rows as the source computes them, in the shadow's column order. */
    private static final String EXPECTED_USERS = """
            SELECT ROW(id, encode(hmac(email, '%s', 'sha256'), 'hex'),
                       CASE WHEN name IS NULL THEN NULL ELSE repeat('*', greatest(length(name) - 2, 0)) || right(name, 2) END,
                       CASE WHEN ssn IS NULL THEN NULL ELSE 'XXX' END,
                       (floor(salary / 1000) * 1000)::numeric(10,2), date_trunc('month', born)::date,
                       date_trunc('day', created AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', upper(kind), tenant_id)::text
            FROM users ORDER BY id""".formatted(KEY.replace("'", "''"));

    @BeforeEach
    void setUp() throws Exception {
        db = PgPair.get().newDatabases("transforms_it");
        try (Connection c = db.source(); Statement st = c.createStatement()) {
            st.execute("CREATE EXTENSION IF NOT EXISTS pgcrypto");
            st.execute("""
                    CREATE TABLE users (id int PRIMARY KEY, email text, name text, ssn text, salary numeric(10,2), born date,
                                        created timestamptz, kind text, tenant_id int, note text)""");
            st.execute("""
                    INSERT INTO users SELECT g, 'user' || g || '@example.com', 'Name ' || g, '123-45-' || g, g * 137.25,
                                             date '1970-01-01' + g * 100, timestamptz '2024-03-10 23:30:00+00' + g * interval '7 hours',
                                             CASE WHEN g % 2 = 0 THEN 'admin' ELSE 'user' END, g % 3, 'private note ' || g
                    FROM generate_series(1, 300) g""");
            st.execute("INSERT INTO users (id, email, name) VALUES (0, NULL, 'X')");
            st.execute("CREATE TABLE orders (id int PRIMARY KEY, kind text, tenant_id int, amount numeric)");
            st.execute("INSERT INTO orders SELECT g, (ARRAY['buy', 'sell', 'hold'])[g % 3 + 1], g % 5, g FROM generate_series(1, 300) g");
        }
        Files.writeString(dir.resolve("hash.key"), KEY + "\n");
        pipeline = new Pipeline(db, dir, List.of("public.users", "public.orders"), transforms(dir.resolve("hash.key"))).streamingWith(reader);
    }

    private static String transforms(Path keyFile) {
        return """
                batch: {max-rows: 50, max-delay-ms: 20}
                transforms:
                  - {type: drop-columns, columns: [public.users.note]}
                  - {type: hash, columns: [public.users.email], key-file: '%s'}
                  - {type: redact, columns: [public.users.ssn], value: XXX}
                  - {type: mask, columns: [public.users.name], keep-last: 2}
                  - {type: generalize, columns: [public.users.salary], bucket: 1000}
                  - {type: generalize, columns: [public.users.born], truncate: month}
                  - {type: generalize, columns: [public.users.created], truncate: day}
                  - {type: upper-case, columns: [public.users.kind]}
                  - {type: filter-rows, table: public.orders, where: "kind == 'buy' || kind == 'sell'"}
                """.formatted(keyFile);
    }

    private List<String> rows(Connection c, String sql) throws Exception {
        List<String> out = new ArrayList<>();
        try (c; Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            while (rs.next()) {
                out.add(rs.getString(1));
            }
        }
        return out;
    }

    private void assertTransformed() throws Exception {
        assertThat(rows(db.shadow(), "SELECT u::text FROM users u ORDER BY id")).isEqualTo(rows(db.source(), EXPECTED_USERS));
        assertThat(rows(db.shadow(), "SELECT o::text FROM orders o ORDER BY id"))
                .isEqualTo(rows(db.source(), "SELECT o::text FROM orders o WHERE kind IN ('buy', 'sell') ORDER BY id"));
    }

    @Test
    void everyTransformOnSnapshotAndCdc() throws Exception {
        Pipeline.Outcome snapshot = pipeline.run("snapshot");
        assertThat(snapshot.exitCode()).as(snapshot.err()).isZero();
        assertThat(pipeline.shadowLong("SELECT count(*) FROM pg_attribute WHERE attrelid = 'users'::regclass AND attname = 'note'"))
                .as("the dropped column does not exist on the shadow").isZero();
        assertThat(pipeline.shadowLong("SELECT count(*) FROM pg_attribute WHERE attrelid = 'users'::regclass AND attname = 'email'"
                + " AND atttypid = 'text'::regtype")).isEqualTo(1);
        assertThat(pipeline.sourceLong("SELECT count(*) FROM pg_publication_tables WHERE tablename = 'users' AND 'note' = ANY (attnames)"))
                .as("note is not even published").isZero();
        assertTransformed();

        pipeline.source(
                "INSERT INTO users (id, email, name, ssn, salary, born, created, kind, tenant_id) VALUES"
                        + " (1000, 'new@example.com', 'Zed', NULL, 999.99, '2000-02-29', '2024-12-31 23:59:59.999999+00', 'x', 1)",
                "UPDATE users SET email = 'changed' || id, salary = salary + 5000 WHERE id % 7 = 0",
                "UPDATE users SET ssn = NULL, name = NULL WHERE id % 11 = 0",
                "DELETE FROM users WHERE id % 13 = 0",
                // Rows moving into the filter (hold -> buy), out of it (buy -> hold), and changing inside it.
                "UPDATE orders SET kind = 'buy' WHERE kind = 'hold' AND id % 2 = 0",
                "UPDATE orders SET kind = 'hold' WHERE kind = 'buy' AND id % 5 = 0",
                "UPDATE orders SET amount = amount * 2 WHERE kind = 'sell'",
                "DELETE FROM orders WHERE id % 17 = 0",
                "INSERT INTO orders VALUES (1000, 'hold', 1, 1), (1001, 'sell', 1, 1)");
        Pipeline.Outcome cdc = pipeline.run("cdc", "--exit-when-caught-up");
        assertThat(cdc.exitCode()).as(cdc.err()).isZero();
        assertTransformed();

        Pipeline.Outcome verify = pipeline.run("verify");
        assertThat(verify.exitCode()).as(verify.out()).isZero();
        assertThat(verify.out()).as("compared through the transforms, in process (upper-case is Java's, filter-rows JEXL)")
                .containsPattern("public\\.users +equal .*transforms in process").containsPattern("public\\.orders +equal")
                .contains("equal: 0 of 2 table(s) differ");
    }

    @Test
    void theShadowsKeysIndexesAndConstraintsFollowTheTransforms() throws Exception {
        pipeline.source("CREATE INDEX users_note_idx ON users (note)",
                "CREATE UNIQUE INDEX users_email_key ON users (email)",
                "CREATE UNIQUE INDEX users_name_key ON users (name)",
                "ALTER TABLE users ADD CONSTRAINT users_ssn_check CHECK (ssn <> '')",
                "ALTER TABLE orders ADD CONSTRAINT orders_tenant_fkey FOREIGN KEY (tenant_id) REFERENCES users (id)",
                "CREATE TABLE contacts (id int PRIMARY KEY, email text REFERENCES users (email))",
                "INSERT INTO contacts SELECT id, email FROM users WHERE id % 3 = 0",
                "CREATE TABLE plain (id int PRIMARY KEY, v text)", "INSERT INTO plain SELECT g, 'v' || g FROM generate_series(1, 10) g");
        pipeline.writeConfig(List.of("public.users", "public.orders", "public.contacts", "public.plain"), transforms(dir.resolve("hash.key"))
                .replace("[public.users.email]", "[public.users.email, public.contacts.email]"));
        Path log = dir.resolve("snapshot.log");

        assertThat(Pipeline.waitFor(pipeline.spawn(log, "snapshot"), java.time.Duration.ofSeconds(120))).as(Files.readString(log)).isZero();
        // Only the tables a transform touches go through the transforms in text; the others keep binary COPY.
        assertThat(Files.readString(log)).contains("rows of public.plain (COPY in binary)").contains("rows of public.users (COPY in text)");

        // Over a dropped column, or a column whose values may now collide or fail a check: left out, and said so.
        assertThat(shadowConstraints()).doesNotContain("users_note_idx", "users_name_key", "users_ssn_check");
        assertThat(Files.readString(log)).contains("not created on the shadow: INDEX public.users_note_idx (it uses column note, which"
                + " drop-columns leaves out)").contains("not created on the shadow: INDEX public.users_name_key");
        // Over hashed columns: the key and a foreign key hashed on both sides hold (it was validated when built).
        assertThat(shadowConstraints()).contains("users_email_key", "contacts_email_fkey valid");
        // A foreign key from a table filter-rows thins is there, NOT VALID.
        assertThat(shadowConstraints()).contains("orders_tenant_fkey not valid");
        assertThat(Files.readString(log)).contains("orders_tenant_fkey\" of public.orders is added NOT VALID");
    }

    private List<String> shadowConstraints() throws Exception {
        return rows(db.shadow(), """
                SELECT conname || CASE WHEN contype = 'f' THEN CASE WHEN convalidated THEN ' valid' ELSE ' not valid' END ELSE '' END
                FROM pg_constraint WHERE connamespace = 'public'::regnamespace
                UNION ALL SELECT indexrelid::regclass::text FROM pg_index WHERE indrelid IN ('users'::regclass, 'orders'::regclass)""");
    }

    @Test
    void hashIsTheSameAcrossTwoRunsWithTheSameKey() throws Exception {
        assertThat(pipeline.run("snapshot").exitCode()).isZero();
        List<String> first = rows(db.shadow(), "SELECT email FROM users ORDER BY id");
        assertThat(pipeline.run("teardown", "--drop-metadata").exitCode()).isZero();
        try (Connection c = db.shadow(); Statement st = c.createStatement()) {
            st.execute("DROP TABLE users, orders");
        }

        assertThat(pipeline.run("snapshot").exitCode()).isZero();

        assertThat(rows(db.shadow(), "SELECT email FROM users ORDER BY id")).isEqualTo(first).doesNotContain("user1@example.com");
    }

    @Test
    void transformOnAMissingColumnOrAKeyIsRefusedNamingIt() throws Exception {
        Assumptions.assumeTrue(reader == Pipeline.Reader.PGOUTPUT, "the copy snapshot or the configuration check, which no reader changes: once");
        pipeline.writeConfig(List.of("public.users"), "transforms: [{type: hash, columns: [public.users.emial], key: k}]\n");
        Pipeline.Outcome missing = pipeline.run("snapshot");
        assertThat(missing.exitCode()).isEqualTo(2);
        assertThat(missing.err()).contains("transforms[0] (hash)").contains("column public.users.emial does not exist");

        pipeline.writeConfig(List.of("public.users"), "transforms: [{type: mask, columns: [public.users.id], keep-last: 1}]\n");
        Pipeline.Outcome key = pipeline.run("snapshot");
        assertThat(key.exitCode()).isEqualTo(2);
        assertThat(key.err()).contains("mask cannot apply to key column id of public.users");
        assertThat(pipeline.slotExists()).isFalse();
    }
}
