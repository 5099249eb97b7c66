package dev.scry.backfill.testing;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * What {@code pg_dump --schema-only} says of some schemas, ownership and privileges aside, for
 * comparing a shadow's schema with its source's; and the SQL scripts the schema tests load.
 */
public final class SchemaDump {

    private SchemaDump() {
    }

    /** The dump of {@code schemas} in {@code database}, without the lines that differ on every run. */
    public static String of(PgServer server, String database, List<String> schemas) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(pgDump(), "--schema-only", "--no-owner", "--no-privileges", "--no-publications",
                "--no-subscriptions", "-N", "scry_backfill", "-h", server.host(), "-p", Integer.toString(server.port()), "-U", server.user(),
                "-d", database));
        for (String schema : schemas) {
            command.add("-n");
            command.add(schema);
        }
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        pb.environment().put("PGPASSWORD", server.password());
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException("pg_dump failed: " + out);
        }
        // pg_dump 15.14 and later fence the script with \restrict and a random key.
        return out.lines().filter(l -> !l.startsWith("\\restrict") && !l.startsWith("\\unrestrict") && !l.startsWith("-- Dumped"))
                .collect(Collectors.joining("\n"));
    }

    private static String pgDump() {
        String configured = System.getenv("PG_DUMP");
        if (configured != null) {
            return configured;
        }
        Path debian = Path.of("/usr/lib/postgresql/15/bin/pg_dump");
        return Files.isExecutable(debian) ? debian.toString() : "pg_dump";
    }

    /**
     * Runs a script from the test resources ({@code schema/rich.sql}) in one go, in the simple
     * query protocol: pgjdbc would cut a {@code BEGIN ATOMIC} body at its semicolons.
     */
    public static void load(PgServer server, String database, String resource) throws SQLException, IOException {
        java.util.Properties p = new java.util.Properties();
        p.setProperty("user", server.user());
        p.setProperty("password", server.password());
        p.setProperty("preferQueryMode", "simple");
        try (InputStream in = SchemaDump.class.getClassLoader().getResourceAsStream(resource);
             Connection c = java.sql.DriverManager.getConnection(server.url(database), p); Statement st = c.createStatement()) {
            if (in == null) {
                throw new IOException("no resource " + resource);
            }
            st.execute(new String(in.readAllBytes(), StandardCharsets.UTF_8));
        }
    }
}
