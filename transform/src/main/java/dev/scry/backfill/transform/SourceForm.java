package dev.scry.backfill.transform;

import java.util.Optional;

import dev.scry.backfill.model.ColumnSpec;

/**
 * How {@code verify} reproduces one transform step from the source's rows, so that a transformed
 * table is compared like any other: the source side computes what the shadow should hold.
 *
 * <p>Every step with a form can run in this process: its own {@link Transform#apply} on the
 * source's rows (the rows travel to the verifier). A column step may also have an SQL form, an
 * expression the source computes inside its own database, so that only digests travel. A step
 * with neither (a custom transform that declares none) makes its tables "not comparable".
 */
public final class SourceForm {

    private static final SourceForm NONE = new SourceForm(false, null);
    private static final SourceForm IN_PROCESS = new SourceForm(true, null);

    private final boolean inProcess;
    private final ColumnSql sql;

    private SourceForm(boolean inProcess, ColumnSql sql) {
        this.inProcess = inProcess;
        this.sql = sql;
    }

    /** No source-side form: verify reports the tables the step touches as not comparable. */
    public static SourceForm none() {
        return NONE;
    }

    /** The step's own {@code apply}, run on the source's rows in this process (it must be deterministic). */
    public static SourceForm inProcess() {
        return IN_PROCESS;
    }

    /** An SQL expression per column (see {@link ColumnSql}), and the in-process form where the source cannot compute it. */
    public static SourceForm sql(ColumnSql sql) {
        return new SourceForm(true, sql);
    }

    public boolean comparable() {
        return inProcess;
    }

    /** The SQL form, if the step has one. */
    public Optional<ColumnSql> columnSql() {
        return Optional.ofNullable(sql);
    }

    /** A column step's value computed by the source from the value before the step. */
    @FunctionalInterface
    public interface ColumnSql {
        /**
         * The expression, over {@code input} (an SQL expression for the column's value before the
         * step, of {@code column}'s type or text), whose output text is the text the step's
         * {@code apply} gives; or empty when this source cannot compute it (an extension missing).
         */
        Optional<String> expression(String input, ColumnSpec column, SqlContext context);
    }

    /** What an SQL form may ask of the source it runs on. */
    public interface SqlContext {
        /** The schema-qualified, quoted name of a function an installed extension provides, or empty when it is not installed. */
        Optional<String> function(String extension, String name);

        /** Whether the source database's encoding is UTF8, which functions over text bytes need to agree with Java's. */
        boolean utf8();

        /**
         * An expression that reads {@code value} from a bind parameter of the statement the
         * expression ends up in (for values that must not appear in statement text, such as keys).
         */
        String parameter(String value);
    }

    /**
     * The value's text as PostgreSQL's output function prints it (what the transforms see in the
     * stream and in COPY), never a cast to text: {@code true::text} is {@code true} where the row
     * carries {@code t}, and {@code inet::text} adds a netmask.
     */
    public static String text(String input) {
        return "format('%s', " + input + ")";
    }
}
