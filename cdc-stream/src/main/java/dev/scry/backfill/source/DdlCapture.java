package dev.scry.backfill.source;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.scry.backfill.error.SetupException;

/**
 * Schema changes into the stream ({@code schema.capture-ddl: true}). Logical decoding carries rows,
 * not DDL; an event trigger on the source writes each DDL command into the WAL as a transactional
 * logical message ({@code pg_logical_emit_message(true, 'scry_backfill.ddl', ...)}), so that it
 * comes out of the slot inside its transaction, exactly between the rows written before and after
 * it, and a rolled-back command never comes out at all.
 *
 * <p>What the message holds: the command tag, {@code current_query()} (the whole string the client
 * sent, which may hold several statements: the trigger also counts the commands it fired for in
 * that string, with their tags, so that the sink can tell which statement this one is), the
 * session's {@code search_path}, and each object the command created, altered or dropped with its
 * catalog address ({@code pg_identify_object_as_address}) and the table it is on (a partition's
 * root for a partition), which is how the sink tells what concerns the shadow.
 *
 * <p>Creating an event trigger needs a superuser, once. Any user may write a logical message, so
 * each message is signed with a key made at installation ({@code scry_backfill.capture_key},
 * readable by the installing superuser only, and by whom it grants): the sink applies signed
 * messages only, and no one else can make the shadow run a statement of their choosing. The
 * signing function is {@code SECURITY DEFINER} (to read the key) with its own
 * {@code search_path} (so that no one's objects run with the owner's rights); the session's
 * {@code search_path}, which the statement was written for, is kept at {@code ddl_command_start}
 * by a plain function. One trigger serves every pipeline reading the database; {@code teardown}
 * removes it.
 */
public final class DdlCapture {

    /** The prefix of the messages, which the pgoutput reader turns into schema changes. */
    public static final String PREFIX = "scry_backfill.ddl";

    private static final Logger LOG = LoggerFactory.getLogger(DdlCapture.class);

    // Bump when the functions change, so that a start installs the new ones.
    private static final String VERSION = "scry-backfill ddl capture v2";

    // Runs as the user who runs the command: their search_path, kept for the command's end.
    private static final String START_FUNCTION = """
            CREATE OR REPLACE FUNCTION scry_backfill.capture_start() RETURNS event_trigger
            LANGUAGE plpgsql AS $fn$
            BEGIN
              PERFORM pg_catalog.set_config('scry_backfill.ddl_search_path', pg_catalog.current_setting('search_path'), true);
            END
            $fn$""";

    private static final String DROPPED_FUNCTION = """
            CREATE OR REPLACE FUNCTION scry_backfill.capture_dropped() RETURNS event_trigger
            LANGUAGE plpgsql AS $fn$
            BEGIN
              -- sql_drop fires before ddl_command_end of the same command, which sends these along.
              PERFORM pg_catalog.set_config('scry_backfill.ddl_dropped', coalesce((
                SELECT pg_catalog.json_agg(pg_catalog.json_build_object('type', d.object_type, 'schema', d.schema_name,
                         'identity', d.object_identity, 'names', d.address_names, 'args', d.address_args))::text
                FROM pg_catalog.pg_event_trigger_dropped_objects() d WHERE NOT d.is_temporary), ''), true);
            END
            $fn$""";

    private static final String COMMAND_FUNCTION = """
            CREATE OR REPLACE FUNCTION scry_backfill.capture_ddl() RETURNS event_trigger
            LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
            DECLARE
              query text := coalesce(pg_catalog.current_query(), '');
              counter text := 'scry_backfill.ddl_' || pg_catalog.md5(coalesce(pg_catalog.current_query(), ''));
              tags text := pg_catalog.current_setting(counter, true);
              dropped text := pg_catalog.current_setting('scry_backfill.ddl_dropped', true);
              objects json;
              body text;
              secret text := (SELECT k.key FROM scry_backfill.capture_key k);
            BEGIN
              -- The commands fired for so far in this query string, this transaction: which statement this is.
              tags := CASE WHEN coalesce(tags, '') = '' THEN '' ELSE tags || E'\\x1f' END || tg_tag;
              PERFORM pg_catalog.set_config(counter, tags, true);
              PERFORM pg_catalog.set_config('scry_backfill.ddl_dropped', '', true);
              SELECT pg_catalog.json_agg(pg_catalog.json_build_object('type', c.object_type, 'schema', c.schema_name,
                       'identity', c.object_identity, 'names', a.object_names, 'args', a.object_args,
                       'rel_schema', rn.nspname, 'rel_name', r.relname))
                INTO objects
                FROM pg_catalog.pg_event_trigger_ddl_commands() c
                LEFT JOIN LATERAL pg_catalog.pg_identify_object_as_address(c.classid, c.objid, c.objsubid) a ON true
                LEFT JOIN LATERAL (SELECT CASE c.classid
                    WHEN 'pg_catalog.pg_class'::pg_catalog.regclass THEN
                      (SELECT coalesce(i.indrelid, k.oid) FROM pg_catalog.pg_class k
                       LEFT JOIN pg_catalog.pg_index i ON i.indexrelid = k.oid WHERE k.oid = c.objid)
                    WHEN 'pg_catalog.pg_constraint'::pg_catalog.regclass THEN
                      (SELECT k.conrelid FROM pg_catalog.pg_constraint k WHERE k.oid = c.objid)
                    WHEN 'pg_catalog.pg_trigger'::pg_catalog.regclass THEN
                      (SELECT g.tgrelid FROM pg_catalog.pg_trigger g WHERE g.oid = c.objid)
                    WHEN 'pg_catalog.pg_attrdef'::pg_catalog.regclass THEN
                      (SELECT d.adrelid FROM pg_catalog.pg_attrdef d WHERE d.oid = c.objid)
                    WHEN 'pg_catalog.pg_statistic_ext'::pg_catalog.regclass THEN
                      (SELECT s.stxrelid FROM pg_catalog.pg_statistic_ext s WHERE s.oid = c.objid)
                  END AS relid) o ON true
                LEFT JOIN pg_catalog.pg_class p ON p.oid = o.relid
                LEFT JOIN pg_catalog.pg_class r ON r.oid = CASE WHEN p.relispartition THEN pg_catalog.pg_partition_root(p.oid)
                                                               ELSE p.oid END
                                                AND r.relkind OPERATOR(pg_catalog.=) ANY (ARRAY['r', 'p']::"char"[])
                LEFT JOIN pg_catalog.pg_namespace rn ON rn.oid = r.relnamespace
               WHERE NOT c.in_extension;
              body := pg_catalog.json_build_object(
                'tag', tg_tag, 'query', query, 'tags', pg_catalog.string_to_array(tags, E'\\x1f'),
                'search_path', coalesce(pg_catalog.current_setting('scry_backfill.ddl_search_path', true), ''),
                'objects', coalesce(objects, '[]'::json),
                'dropped', coalesce(NULLIF(dropped, '')::json, '[]'::json))::text;
              -- Signed with the installation's key: anyone may write a logical message, only this trigger a signed one.
              PERFORM pg_catalog.pg_logical_emit_message(true, 'scry_backfill.ddl', pg_catalog.encode(pg_catalog.sha256(
                pg_catalog.convert_to(secret || pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(body, 'UTF8')), 'hex'), 'UTF8')),
                'hex') || body);
            END
            $fn$""";

    private final Connection source;

    public DdlCapture(Connection source) {
        this.source = source;
    }

    /** Whether this version's trigger is installed on the source. */
    public boolean installed() throws SQLException {
        try (Statement st = source.createStatement();
             ResultSet rs = st.executeQuery("""
                     SELECT count(*) = 3 AND bool_and(obj_description(p.oid, 'pg_proc') IS NOT DISTINCT FROM '""" + VERSION + """
                     ')
                     FROM pg_event_trigger e JOIN pg_proc p ON p.oid = e.evtfoid
                     WHERE e.evtname IN ('scry_backfill_ddl_start', 'scry_backfill_ddl', 'scry_backfill_ddl_drop')
                       AND e.evtenabled <> 'D'""")) {
            return rs.next() && rs.getBoolean(1);
        }
    }

    /**
     * Installs the trigger unless this version's is there. Refused (exit 2) when the user is not a
     * superuser, with what a superuser runs instead, or on a standby (the primary's trigger serves it).
     */
    public void install(boolean standby, String describe) throws SQLException {
        if (installed()) {
            return;
        }
        if (standby) {
            throw new SetupException("schema.capture-ddl is on but the primary of the standby " + describe + " has no DDL capture"
                    + " trigger; run `cdc` once against the primary with a superuser (the trigger is written to the WAL and"
                    + " reaches the standby), or set schema.capture-ddl: false (the drift check then follows what it can)");
        }
        boolean superuser;
        try (Statement st = source.createStatement();
             ResultSet rs = st.executeQuery("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")) {
            superuser = rs.next() && rs.getBoolean(1);
        }
        if (!superuser) {
            throw new SetupException("schema.capture-ddl needs an event trigger on the source " + describe + ", which only a superuser"
                    + " can create: start the pipeline once with a superuser as source.user (later runs need no superuser), or set"
                    + " schema.capture-ddl: false (the drift check then follows what it can)");
        }
        boolean auto = source.getAutoCommit();
        source.setAutoCommit(false);
        try (Statement st = source.createStatement()) {
            st.execute("CREATE SCHEMA IF NOT EXISTS scry_backfill");
            st.execute("CREATE TABLE IF NOT EXISTS scry_backfill.capture_key (key text NOT NULL)");
            st.execute("REVOKE ALL ON scry_backfill.capture_key FROM PUBLIC");
            // gen_random_uuid draws from the server's strong random source.
            st.execute("INSERT INTO scry_backfill.capture_key SELECT gen_random_uuid()::text || gen_random_uuid()::text"
                    + " WHERE NOT EXISTS (SELECT 1 FROM scry_backfill.capture_key)");
            st.execute(START_FUNCTION);
            st.execute(DROPPED_FUNCTION);
            st.execute(COMMAND_FUNCTION);
            for (String f : new String[] {"capture_start()", "capture_dropped()", "capture_ddl()"}) {
                st.execute("COMMENT ON FUNCTION scry_backfill." + f + " IS '" + VERSION + "'");
                // Only the trigger calls them: they write into the WAL with the owner's rights.
                st.execute("REVOKE ALL ON FUNCTION scry_backfill." + f + " FROM PUBLIC");
            }
            st.execute("DROP EVENT TRIGGER IF EXISTS scry_backfill_ddl_start");
            st.execute("DROP EVENT TRIGGER IF EXISTS scry_backfill_ddl");
            st.execute("DROP EVENT TRIGGER IF EXISTS scry_backfill_ddl_drop");
            st.execute("CREATE EVENT TRIGGER scry_backfill_ddl_start ON ddl_command_start EXECUTE FUNCTION scry_backfill.capture_start()");
            st.execute("CREATE EVENT TRIGGER scry_backfill_ddl ON ddl_command_end EXECUTE FUNCTION scry_backfill.capture_ddl()");
            st.execute("CREATE EVENT TRIGGER scry_backfill_ddl_drop ON sql_drop EXECUTE FUNCTION scry_backfill.capture_dropped()");
            source.commit();
            LOG.info("installed the DDL capture trigger on the source {}: schema changes now travel with the rows", describe);
        }
        catch (SQLException | RuntimeException e) {
            source.rollback();
            throw e;
        }
        finally {
            source.setAutoCommit(auto);
        }
    }

    /**
     * The key the trigger signs its messages with, which the sink checks them against. Refused
     * (exit 2) when the source's user may not read it: the installing superuser grants that.
     */
    public String key(String describe) throws SQLException {
        try (Statement st = source.createStatement(); ResultSet rs = st.executeQuery("SELECT key FROM scry_backfill.capture_key")) {
            if (!rs.next()) {
                throw new SetupException("the DDL capture on the source " + describe + " has no key; run `teardown` and start again"
                        + " with a superuser");
            }
            return rs.getString(1);
        }
        catch (SQLException e) {
            if ("42501".equals(e.getSQLState())) {
                throw new SetupException("schema.capture-ddl: the source's user may not read scry_backfill.capture_key on " + describe
                        + " (it signs the captured DDL, see SchemaChange#body); as a superuser run GRANT SELECT ON scry_backfill.capture_key TO <source.user>,"
                        + " then run again");
            }
            throw e;
        }
    }

    /** Removes the trigger and its functions; returns whether there was one. */
    public boolean remove() throws SQLException {
        boolean had;
        try (PreparedStatement ps = source.prepareStatement(
                "SELECT count(*) > 0 FROM pg_event_trigger WHERE evtname IN ('scry_backfill_ddl_start', 'scry_backfill_ddl',"
                        + " 'scry_backfill_ddl_drop')")) {
            try (ResultSet rs = ps.executeQuery()) {
                had = rs.next() && rs.getBoolean(1);
            }
        }
        try (Statement st = source.createStatement()) {
            st.execute("DROP EVENT TRIGGER IF EXISTS scry_backfill_ddl_start");
            st.execute("DROP EVENT TRIGGER IF EXISTS scry_backfill_ddl");
            st.execute("DROP EVENT TRIGGER IF EXISTS scry_backfill_ddl_drop");
            st.execute("DROP FUNCTION IF EXISTS scry_backfill.capture_start()");
            st.execute("DROP FUNCTION IF EXISTS scry_backfill.capture_ddl()");
            st.execute("DROP TABLE IF EXISTS scry_backfill.capture_key");
            st.execute("DROP FUNCTION IF EXISTS scry_backfill.capture_dropped()");
            st.execute("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_depend d JOIN pg_namespace n ON n.oid = d.refobjid"
                    + " WHERE n.nspname = 'scry_backfill' AND d.refclassid = 'pg_namespace'::regclass)"
                    + " THEN EXECUTE 'DROP SCHEMA IF EXISTS scry_backfill'; END IF; END $$");
        }
        if (!source.getAutoCommit()) {
            source.commit();
        }
        return had;
    }
}
