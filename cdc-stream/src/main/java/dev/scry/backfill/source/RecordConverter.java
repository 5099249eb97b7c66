package dev.scry.backfill.source;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

import org.apache.kafka.connect.data.Field;
import org.apache.kafka.connect.data.Schema;
import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.source.SourceRecord;

import dev.scry.backfill.error.PipelineFailure;
import dev.scry.backfill.model.ChangeEvent;
import dev.scry.backfill.model.ColumnSpec;
import dev.scry.backfill.model.Op;
import dev.scry.backfill.model.RowImage;
import dev.scry.backfill.model.SourcePosition;
import dev.scry.backfill.model.TableId;
import dev.scry.backfill.model.TableSelector;
import dev.scry.backfill.model.TableSpec;

/**
 * Classifies each engine record and turns data records into {@link ChangeEvent}s whose values are
 * PostgreSQL text (see {@link ValueText}). Row layouts are worked out once per Connect schema.
 */
final class RecordConverter {

    private static final String HEARTBEAT_SCHEMA = "io.debezium.connector.common.Heartbeat";
    private static final String TRANSACTION_SCHEMA_SUFFIX = "TransactionMetadataValue";

    private final Map<TableId, TableSpec> tables;
    private final List<TableSelector> selectors;
    private final ToastPlaceholder placeholder;
    private final String transactionTopic;
    private final String messageTopic;
    private final String heartbeatTopic;
    private final Map<Schema, Layout> layouts = new IdentityHashMap<>();

    RecordConverter(String topicPrefix, Map<TableId, TableSpec> tables, ToastPlaceholder placeholder) {
        this(topicPrefix, tables, List.of(), placeholder);
    }

    RecordConverter(String topicPrefix, Map<TableId, TableSpec> tables, List<TableSelector> selectors, ToastPlaceholder placeholder) {
        this.selectors = List.copyOf(selectors);
        // Live: tables that join while streaming (patterns in `tables`) are added by the caller.
        this.tables = tables;
        this.placeholder = placeholder;
        this.transactionTopic = topicPrefix + ".transaction";
        this.messageTopic = topicPrefix + ".message";
        this.heartbeatTopic = "__debezium-heartbeat." + topicPrefix;
    }

    <T> SourceItem<T> convert(SourceRecord record, T ticket) {
        Map<String, ?> offset = record.sourceOffset();
        Supplier<SourcePosition> position = () -> DebeziumOffsets.position(offset);
        Schema valueSchema = record.valueSchema();
        Object value = record.value();
        if (value == null) {
            return SourceItem.of(SourceItem.Kind.SKIP, position, ticket);
        }
        String topic = record.topic();
        if (heartbeatTopic.equals(topic) || (valueSchema != null && HEARTBEAT_SCHEMA.equals(valueSchema.name()))) {
            return SourceItem.of(SourceItem.Kind.HEARTBEAT, position, ticket);
        }
        Struct struct = (Struct) value;
        if (transactionTopic.equals(topic) || (valueSchema.name() != null && valueSchema.name().endsWith(TRANSACTION_SCHEMA_SUFFIX))) {
            String status = struct.getString("status");
            String id = xid(struct.getString("id"));
            return SourceItem.boundary("BEGIN".equals(status) ? SourceItem.Kind.BEGIN : SourceItem.Kind.END, id, position, ticket);
        }
        String op = struct.schema().field("op") == null ? null : struct.getString("op");
        if (messageTopic.equals(topic) || "m".equals(op)) {
            Struct message = struct.getStruct("message");
            if (message != null && SourceAdmin.MARKER_PREFIX.equals(message.getString("prefix"))) {
                byte[] content = ValueText.bytes(message.get("content"));
                return SourceItem.marker(new String(content, StandardCharsets.UTF_8), position, ticket);
            }
            return SourceItem.of(SourceItem.Kind.SKIP, position, ticket);
        }
        if (op == null) {
            return SourceItem.of(SourceItem.Kind.SKIP, position, ticket);
        }
        Struct source = struct.getStruct("source");
        TableId table = new TableId(source.getString("schema"), source.getString("table"));
        TableSpec spec = tables.get(table);
        if (spec == null) {
            if (selectors.stream().anyMatch(sel -> sel.matches(table))) {
                throw new PipelineFailure("a change to " + table + " arrived before the pipeline had copied that table; stopping"
                        + " before applying anything of it. Run `resume`: the table is copied before streaming starts");
            }
            // A table the publication carries beyond the configured ones.
            return SourceItem.of(SourceItem.Kind.SKIP, position, ticket);
        }
        String transactionId = null;
        if (struct.schema().field("transaction") != null) {
            Struct tx = struct.getStruct("transaction");
            transactionId = tx == null ? null : xid(tx.getString("id"));
        }
        ChangeEvent event = switch (op) {
            case "r" -> new ChangeEvent(table, Op.READ, null, row(spec, struct.getStruct("after"), true));
            case "c" -> new ChangeEvent(table, Op.INSERT, null, row(spec, struct.getStruct("after"), true));
            case "u" -> new ChangeEvent(table, Op.UPDATE, spec.hasPrimaryKey() ? null : oldRow(spec, struct),
                    row(spec, struct.getStruct("after"), true));
            case "d" -> new ChangeEvent(table, Op.DELETE, spec.hasPrimaryKey() ? key(spec, record) : oldRow(spec, struct), null);
            case "t" -> ChangeEvent.truncate(table);
            default -> throw new PipelineFailure("unknown change operation '" + op + "' on " + table);
        };
        return SourceItem.change(event, transactionId, position, ticket);
    }

    /**
     * The PostgreSQL connector writes transaction ids as {@code xid:lsn} with the LSN of the event at
     * hand, so BEGIN, the changes and END of one transaction carry different ids; the xid is what
     * they share.
     */
    static String xid(String transactionId) {
        if (transactionId == null) {
            return null;
        }
        int colon = transactionId.indexOf(':');
        return colon < 0 ? transactionId : transactionId.substring(0, colon);
    }

    private RowImage key(TableSpec spec, SourceRecord record) {
        if (!(record.key() instanceof Struct key)) {
            throw new PipelineFailure("a DELETE on " + spec.id() + " arrived without its key; the table needs a primary key");
        }
        return row(spec, key, false);
    }

    /** A table without a key is changed by its whole old row, which REPLICA IDENTITY FULL sends. */
    private RowImage oldRow(TableSpec spec, Struct struct) {
        Struct before = struct.getStruct("before");
        if (before == null) {
            throw new PipelineFailure("a change on " + spec.id() + " (no key) arrived without its old row; set REPLICA IDENTITY FULL"
                    + " on the source table");
        }
        return row(spec, before, false);
    }

    private RowImage row(TableSpec spec, Struct struct, boolean fullRow) {
        if (struct == null) {
            throw new PipelineFailure("a change on " + spec.id() + " arrived without a row image");
        }
        Layout layout = layouts.computeIfAbsent(struct.schema(), schema -> Layout.of(spec, schema, fullRow));
        String[] values = new String[layout.fields.length];
        BitSet unchanged = null;
        for (int i = 0; i < values.length; i++) {
            Field field = layout.fields[i];
            Object raw = struct.get(field);
            if (raw != null && placeholder.matches(raw)) {
                if (unchanged == null) {
                    unchanged = new BitSet(values.length);
                }
                unchanged.set(i);
                continue;
            }
            try {
                values[i] = ValueText.of(field.schema(), raw);
            }
            catch (RuntimeException e) {
                throw new PipelineFailure("cannot convert column " + field.name() + " of " + spec.id() + " ("
                        + layout.types[i] + "): " + e.getMessage(), e);
            }
        }
        return new RowImage(layout.columns, values, unchanged, layout.sourceTypes);
    }

    /**
     * The fields of one Connect row schema. Its columns may differ from the table's columns known
     * at start: the sink follows schema changes where they appear in the stream.
     */
    private record Layout(List<String> columns, Field[] fields, String[] types, List<String> sourceTypes) {

        static Layout of(TableSpec spec, Schema schema, boolean fullRow) {
            List<String> columns = new ArrayList<>(schema.fields().size());
            List<String> sourceTypes = new ArrayList<>(schema.fields().size());
            List<Field> fields = schema.fields();
            String[] types = new String[fields.size()];
            for (int i = 0; i < fields.size(); i++) {
                Field f = fields.get(i);
                ColumnSpec column = spec.column(f.name());
                columns.add(f.name());
                types[i] = column == null ? f.schema().type().getName() : column.type();
                Map<String, String> parameters = f.schema().parameters();
                String sourceType = parameters == null ? null : parameters.get(EngineProperties.SOURCE_TYPE_PARAMETER);
                sourceTypes.add(sourceType == null ? "" : sourceType.toLowerCase(java.util.Locale.ROOT));
            }
            return new Layout(List.copyOf(columns), fields.toArray(new Field[0]), types, List.copyOf(sourceTypes));
        }
    }
}
