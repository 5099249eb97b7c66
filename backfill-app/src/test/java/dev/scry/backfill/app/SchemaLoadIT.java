package dev.scry.backfill.app;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.scry.backfill.testing.PgPair;
import dev.scry.backfill.testing.PgServer;

/**
 * How the shadow's schema is loaded and who may load it: what an interrupted snapshot deferred is
 * never lost, a shadow user that cannot keep triggers and foreign keys quiet is refused with the
 * grant that fixes it, and owners and grants are copied when asked, every missing role named.
 */
class SchemaLoadIT extends PipelineTest {

    @BeforeEach
    void setUp() throws Exception {
        db = PgPair.get().newDatabases("schema_load_it");
        pipeline = new Pipeline(db, dir, List.of("load.a", "load.b"), "snapshot: {parallelism: 1}\n");
        pipeline.source("CREATE SCHEMA load",
                "CREATE TABLE load.a (id int PRIMARY KEY, v text)",
                "CREATE INDEX a_v ON load.a (v)",
                "INSERT INTO load.a SELECT g, 'v' || g FROM generate_series(1, 2000) g",
                "CREATE TABLE load.b (id int PRIMARY KEY, a_id int REFERENCES load.a)",
                "INSERT INTO load.b SELECT g, g FROM generate_series(1, 2000) g",
                "CREATE FUNCTION load.stamp() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.v := 'fired'; RETURN NEW; END $$",
                "CREATE TRIGGER a_stamp BEFORE INSERT OR UPDATE ON load.a FOR EACH ROW EXECUTE FUNCTION load.stamp()",
                "ALTER TABLE load.a DISABLE TRIGGER a_stamp");
    }

    @Test
    void teardownBuildsWhatAnInterruptedSnapshotLeftDeferred() throws Exception {
        // A shadow-side trigger (ALWAYS: it fires in the replica role too) makes the copy of b fail half-way.
        shadow("CREATE SCHEMA load", "CREATE TABLE load.b (id int PRIMARY KEY, a_id int)",
                "CREATE FUNCTION load.refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
                        + " IF NEW.id = 1500 THEN RAISE EXCEPTION 'refused'; END IF; RETURN NEW; END $$",
                "CREATE TRIGGER refuse BEFORE INSERT ON load.b FOR EACH ROW EXECUTE FUNCTION load.refuse()",
                "ALTER TABLE load.b ENABLE ALWAYS TRIGGER refuse");

        Pipeline.Outcome snapshot = pipeline.run("snapshot");

        assertThat(snapshot.exitCode()).as(snapshot.out() + snapshot.err()).isEqualTo(1);
        assertThat(pipeline.shadowLong("SELECT count(*) FROM scry_backfill.deferred_ddl")).as("the foreign key waits for b's rows").isPositive();
        assertThat(constraints()).doesNotContain("b_a_id_fkey");

        Pipeline.Outcome teardown = pipeline.run("teardown", "--drop-metadata");

        assertThat(teardown.exitCode()).as(teardown.err()).isZero();
        assertThat(constraints()).contains("a_pkey", "a_v", "b_a_id_fkey", "b_pkey", "a_stamp");
        assertThat(pipeline.shadowLong("SELECT count(*) FROM pg_namespace WHERE nspname = 'scry_backfill'")).isZero();
    }

    @Test
    void aShadowUserThatCannotSetTheReplicaRoleIsRefusedWithTheGrantThatFixesIt() throws Exception {
        String role = "norep_" + db.name();
        cluster(db.shadowServer(), "CREATE ROLE " + role + " LOGIN");
        try {
            shadow("ALTER SCHEMA public OWNER TO " + role, "GRANT CREATE ON DATABASE " + db.name() + " TO " + role);
            pipeline.writeConfig(List.of("load.a", "load.b"), "", role);

            Pipeline.Outcome refused = pipeline.run("snapshot");

            assertThat(refused.exitCode()).isEqualTo(2);
            assertThat(refused.err()).contains("the shadow will have triggers or foreign keys")
                    .contains("GRANT SET ON PARAMETER session_replication_role TO \"" + role + "\"");
            assertThat(pipeline.shadowLong("SELECT count(*) FROM pg_namespace WHERE nspname IN ('load', 'scry_backfill')")).isZero();
            assertThat(pipeline.slotExists()).isFalse();

            cluster(db.shadowServer(), "GRANT SET ON PARAMETER session_replication_role TO " + role);
            Pipeline.Outcome snapshot = pipeline.run("snapshot");

            assertThat(snapshot.exitCode()).as(snapshot.err()).isZero();
            pipeline.source("UPDATE load.a SET v = 'changed' WHERE id < 100", "DELETE FROM load.b WHERE id < 50");
            assertThat(pipeline.run("cdc", "--exit-when-caught-up").exitCode()).isZero();
            pipeline.assertShadowEqualsSource("load.a", "load.b");
        }
        finally {
            pipeline.run("teardown", "--drop-metadata");
            pipeline.writeConfig(List.of("load.a", "load.b"), "");
            dropRole(db.shadowServer(), role);
        }
    }

    @Test
    void ownersAndGrantsAreCopiedWhenAskedAndMissingRolesAreNamedAtOnce() throws Exception {
        String owner = "own_" + db.name();
        String reader = "read_" + db.name();
        cluster(db.sourceServer(), "CREATE ROLE " + owner, "CREATE ROLE " + reader);
        try {
            pipeline.source("ALTER TABLE load.a OWNER TO " + owner, "GRANT SELECT ON load.a TO " + reader,
                    "GRANT UPDATE (v) ON load.a TO " + reader + " WITH GRANT OPTION", "GRANT USAGE ON SCHEMA load TO " + reader);
            pipeline.writeConfig(List.of("load.*"), "schema: {copy-ownership: true, copy-privileges: true}\n");

            Pipeline.Outcome refused = pipeline.run("snapshot");

            assertThat(refused.exitCode()).isEqualTo(2);
            assertThat(refused.err()).contains(owner + ", " + reader + " own or are granted objects on the source but do not exist on"
                    + " the shadow");
            assertThat(pipeline.shadowLong("SELECT count(*) FROM pg_namespace WHERE nspname = 'load'")).isZero();

            cluster(db.shadowServer(), "CREATE ROLE " + owner, "CREATE ROLE " + reader);
            Pipeline.Outcome snapshot = pipeline.run("snapshot");

            assertThat(snapshot.exitCode()).as(snapshot.err()).isZero();
            String acl = "SELECT count(*) FROM pg_class c WHERE c.oid = 'load.a'::regclass AND pg_get_userbyid(c.relowner) = '" + owner
                    + "' AND c.relacl::text = '%s' AND (SELECT attacl::text FROM pg_attribute WHERE attrelid = c.oid AND attname = 'v') = '%s'"
                    + " AND (SELECT nspacl::text FROM pg_namespace WHERE nspname = 'load') = '%s'";
            String sourceAcl = text("SELECT relacl::text FROM pg_class WHERE oid = 'load.a'::regclass");
            String columnAcl = text("SELECT attacl::text FROM pg_attribute WHERE attrelid = 'load.a'::regclass AND attname = 'v'");
            String schemaAcl = text("SELECT nspacl::text FROM pg_namespace WHERE nspname = 'load'");
            assertThat(pipeline.shadowLong(acl.formatted(sourceAcl, columnAcl, schemaAcl)))
                    .as("owner and ACLs as the source's: " + sourceAcl + ", " + columnAcl + ", " + schemaAcl).isEqualTo(1);
        }
        finally {
            pipeline.run("teardown", "--drop-metadata");
            dropRole(db.sourceServer(), owner + ", " + reader);
            dropRole(db.shadowServer(), owner + ", " + reader);
        }
    }

    private String text(String sql) throws SQLException {
        try (Connection c = db.source(); Statement st = c.createStatement(); var rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }

    private List<String> constraints() throws SQLException {
        List<String> out = new java.util.ArrayList<>();
        try (Connection c = db.shadow(); Statement st = c.createStatement(); var rs = st.executeQuery("""
                SELECT conname FROM pg_constraint WHERE connamespace = 'load'::regnamespace
                UNION ALL SELECT relname FROM pg_class WHERE relnamespace = 'load'::regnamespace AND relkind = 'i'
                UNION ALL SELECT tgname FROM pg_trigger WHERE tgrelid = 'load.a'::regclass AND NOT tgisinternal""")) {
            while (rs.next()) {
                out.add(rs.getString(1));
            }
        }
        return out;
    }

    private void shadow(String... statements) throws SQLException {
        try (Connection c = db.shadow(); Statement st = c.createStatement()) {
            for (String sql : statements) {
                st.execute(sql);
            }
        }
    }

    private static void cluster(PgServer server, String... statements) throws SQLException {
        try (Connection c = server.connect("postgres"); Statement st = c.createStatement()) {
            for (String sql : statements) {
                st.execute(sql);
            }
        }
    }

    /** Roles are the cluster's: what they own or were granted in the test database goes first. */
    private void dropRole(PgServer server, String roles) throws SQLException {
        try (Connection c = server.connect(db.name()); Statement st = c.createStatement()) {
            st.execute("REASSIGN OWNED BY " + roles + " TO " + server.user());
            st.execute("DROP OWNED BY " + roles);
        }
        cluster(server, "DROP ROLE IF EXISTS " + roles);
    }
}
