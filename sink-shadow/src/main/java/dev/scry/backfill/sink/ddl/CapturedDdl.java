package dev.scry.backfill.sink.ddl;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Savepoint;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Predicate;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.scry.backfill.checkpoint.SchemaRecords;
import dev.scry.backfill.error.PipelineFailure;
import dev.scry.backfill.error.SqlErrors;
import dev.scry.backfill.model.SchemaChange;
import dev.scry.backfill.model.TableId;

/**
 * Applies a schema change captured on the source ({@code schema.capture-ddl}) on the shadow, in
 * the transaction of the batch it arrived in, between the rows before and after it.
 *
 * <p>Which changes: those on a table the pipeline tracks (its indexes, constraints, columns,
 * triggers, partitions, comments: the trigger names the table each object is on), objects of a
 * schema a pattern takes whole ({@code shop.*}: its views, functions, types, sequences), and any
 * object the shadow already has (a view or function replaced or dropped). A new table that is not
 * a partition of a tracked one is left to the pipeline's table discovery, which copies its rows.
 *
 * <p>The command is the statement the source ran (isolated from the query string, see
 * {@link SqlStatements}), run with the source session's {@code search_path}: PostgreSQL's own
 * parser then does on the shadow what it did on the source, USING clauses and all.
 */
public final class CapturedDdl {

    private static final Logger LOG = LoggerFactory.getLogger(CapturedDdl.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    // Objects that belong to a schema rather than to a table.
    private static final Set<String> SCHEMA_LEVEL = Set.of("function", "procedure", "view", "materialized view", "type", "sequence",
            "domain", "aggregate", "schema");

    private static final java.util.regex.Pattern OWNER_TO = java.util.regex.Pattern.compile("(?is)^ALTER\\s.*\\sOWNER\\s+TO\\s");

    private final SchemaRecords records;
    private final Predicate<String> wholeSchema;
    private final String key;

    /**
     * @param pipeline    whose stop record this is
     * @param wholeSchema whether the configuration takes a schema whole
     * @param key         the key captured changes are signed with; null: capture is off here, none is applied
     */
    public CapturedDdl(String pipeline, Predicate<String> wholeSchema, String key) {
        this.records = new SchemaRecords(pipeline);
        this.wholeSchema = wholeSchema;
        this.key = key;
    }

    /** One object the command created, changed or dropped, as the trigger described it. */
    record Touched(String type, String schema, String identity, TableId table, List<String> names, List<String> args) {
    }

    /** A captured change as the trigger wrote it. */
    record Captured(String tag, String query, List<String> tags, String searchPath, List<Touched> objects) {

        static Captured parse(String content) {
            try {
                JsonNode n = JSON.readTree(content);
                List<String> tags = new ArrayList<>();
                n.path("tags").forEach(t -> tags.add(t.asText()));
                List<Touched> objects = new ArrayList<>();
                for (String field : List.of("objects", "dropped")) {
                    for (JsonNode o : n.path(field)) {
                        TableId table = o.hasNonNull("rel_schema") && o.hasNonNull("rel_name")
                                ? new TableId(o.get("rel_schema").asText(), o.get("rel_name").asText()) : null;
                        List<String> names = new ArrayList<>();
                        o.path("names").forEach(x -> names.add(x.asText()));
                        List<String> args = new ArrayList<>();
                        o.path("args").forEach(x -> args.add(x.asText()));
                        objects.add(new Touched(o.path("type").asText(), o.path("schema").asText(null), o.path("identity").asText(),
                                table, names, args));
                    }
                }
                return new Captured(n.path("tag").asText(), n.path("query").asText(), tags, n.path("search_path").asText(""), objects);
            }
            catch (java.io.IOException e) {
                throw new PipelineFailure("a captured schema change could not be read (" + e.getMessage() + "); the message is not"
                        + " one this version's trigger writes: run `teardown` and start again with this version", e);
            }
        }
    }

    /**
     * Applies {@code change} on the shadow if it concerns what the shadow holds. Returns the
     * tracked tables whose columns it may have changed (empty when it was not applied).
     */
    public Set<TableId> apply(Connection c, SchemaChange change, Set<TableId> tracked) throws SQLException {
        if (key == null) {
            // Another pipeline's capture on the same database; this one does not follow DDL so.
            return Set.of();
        }
        String body = change.body(key);
        if (body == null) {
            LOG.warn("a schema change message at {} is not signed by the source's DDL capture; not applied (written by someone"
                    + " else on the source, or by a capture installed again since)", change.lsn());
            return Set.of();
        }
        Captured captured = Captured.parse(body);
        Set<TableId> touched = new LinkedHashSet<>();
        captured.objects().stream().map(Touched::table).filter(t -> t != null && tracked.contains(t)).forEach(touched::add);
        if (records.passStop(c, change.lsn().toString())) {
            LOG.info("the schema change at {} that stopped the pipeline is taken as run on the shadow by hand; going on after it",
                    change.lsn());
            return touched;
        }
        if (!concernsShadow(c, captured, touched)) {
            return Set.of();
        }
        String statement = SqlStatements.isolate(captured.query(), captured.tags());
        if (statement == null) {
            throw stopped(change, captured, captured.query(), "the command (" + captured.tag() + ") ran inside another statement"
                    + " (a function or a DO block), so the text it was given is not known");
        }
        if (Set.of("GRANT", "REVOKE", "ALTER DEFAULT PRIVILEGES").contains(captured.tag())
                || OWNER_TO.matcher(statement).find()) {
            // The shadow's owners and grants are its own (schema.copy-ownership and -privileges
            // copy the source's at snapshot time); the roles may not even exist there.
            LOG.info("not followed on the shadow (owners and grants): {}", oneLine(statement));
            return Set.of();
        }
        if (Set.of("CREATE INDEX", "DROP INDEX", "ALTER TABLE", "REINDEX").contains(captured.tag())) {
            // Run inside the batch's transaction, which CONCURRENTLY refuses; the shadow's readers
            // wait for the index as they wait for the batch.
            statement = statement.replaceAll("(?i)\\s+CONCURRENTLY\\b", "");
        }
        Savepoint savepoint = c.setSavepoint();
        try (Statement st = c.createStatement()) {
            String previous;
            try (ResultSet rs = st.executeQuery("SELECT current_setting('search_path')")) {
                rs.next();
                previous = rs.getString(1);
            }
            setPath(c, captured.searchPath());
            st.execute("SET LOCAL check_function_bodies = off");
            st.execute(statement);
            setPath(c, previous);
            c.releaseSavepoint(savepoint);
        }
        catch (SQLException e) {
            if (SqlErrors.isTransient(e)) {
                throw e;
            }
            c.rollback(savepoint);
            throw stopped(change, captured, statement, SqlErrors.describe(e));
        }
        LOG.info("followed the source: {} ({})", captured.tag(), oneLine(statement));
        return touched;
    }

    private boolean concernsShadow(Connection c, Captured captured, Set<TableId> touched) throws SQLException {
        if (!touched.isEmpty()) {
            return true;
        }
        for (Touched o : captured.objects()) {
            if (SCHEMA_LEVEL.contains(o.type()) && o.schema() != null && wholeSchema.test(o.schema())) {
                return true;
            }
        }
        for (Touched o : captured.objects()) {
            if (!o.names().isEmpty() && !o.type().equals("table") && existsOnShadow(c, o)) {
                return true;
            }
        }
        return false;
    }

    /** Whether the shadow has the object, found by the address the source's catalog gave it. */
    private static boolean existsOnShadow(Connection c, Touched o) throws SQLException {
        Savepoint savepoint = c.setSavepoint();
        try (PreparedStatement ps = c.prepareStatement("SELECT pg_get_object_address(?, ?::text[], ?::text[])")) {
            ps.setString(1, o.type());
            ps.setArray(2, c.createArrayOf("text", o.names().toArray()));
            ps.setArray(3, c.createArrayOf("text", o.args().toArray()));
            ps.executeQuery().close();
            c.releaseSavepoint(savepoint);
            return true;
        }
        catch (SQLException e) {
            if (SqlErrors.isTransient(e)) {
                throw e;
            }
            c.rollback(savepoint);
            return false;
        }
    }

    private static void setPath(Connection c, String path) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT set_config('search_path', ?, true)")) {
            ps.setString(1, path);
            ps.executeQuery().close();
        }
    }

    private SchemaChangeStopped stopped(SchemaChange change, Captured captured, String statement, String error) {
        String toRun = (captured.searchPath().isEmpty() ? "" : "SET search_path = " + captured.searchPath() + "; ") + statement
                + (statement.strip().endsWith(";") ? "" : ";");
        return new SchemaChangeStopped(change.lsn().toString(), toRun, error, "the shadow cannot follow the schema change the source"
                + " made at " + change.lsn() + " (" + captured.tag() + "): " + error + ". Stopping with the checkpoint before it."
                + " Make the shadow the source's by hand; the source ran: " + toRun + " Then run `resume`: it takes this change as"
                + " applied and goes on after it (`verify --schema` shows what still differs)");
    }

    private static String oneLine(String sql) {
        String flat = sql.replaceAll("\\s+", " ").strip();
        return flat.length() > 200 ? flat.substring(0, 200) + "..." : flat;
    }
}
