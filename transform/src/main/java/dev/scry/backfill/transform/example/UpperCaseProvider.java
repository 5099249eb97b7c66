package dev.scry.backfill.transform.example;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import dev.scry.backfill.model.ColumnSpec;
import dev.scry.backfill.transform.ColumnSelector;
import dev.scry.backfill.transform.ColumnTransform;
import dev.scry.backfill.transform.Transform;
import dev.scry.backfill.transform.TransformProvider;

/**
 * The documented example of a custom transform: {@code {type: upper-case, columns: [public.users.name]}}
 * upper-cases text values. A custom transform is a {@link TransformProvider} listed in
 * {@code META-INF/services/dev.scry.backfill.transform.TransformProvider}; extending
 * {@link ColumnTransform} gives it column selection, key protection and old/key images for free.
 */
public final class UpperCaseProvider implements TransformProvider {

    @Override
    public String type() {
        return "upper-case";
    }

    @Override
    public Transform create(Map<String, Object> settings, List<dev.scry.backfill.model.TableSpec> tables) {
        if (!(settings.get("columns") instanceof List<?> list) || list.isEmpty()) {
            throw new IllegalArgumentException("columns must be a non-empty list of schema.table.column");
        }
        List<ColumnSelector> columns = new ArrayList<>();
        list.forEach(o -> columns.add(ColumnSelector.parse(String.valueOf(o))));
        return new ColumnTransform("upper-case", columns) {
            @Override
            protected String transform(String value, ColumnSpec column) {
                return value.toUpperCase(Locale.ROOT);
            }

            // Java's upper-casing, not PostgreSQL's upper() (which follows the collation): verify
            // runs this transform on the source's rows in its own process.
            @Override
            public dev.scry.backfill.transform.SourceForm sourceForm() {
                return dev.scry.backfill.transform.SourceForm.inProcess();
            }
        };
    }
}
